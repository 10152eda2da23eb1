/**
 * The leader's wait for the other nodes' reports (instance-reports.ts), on the in-memory store
 * through the same watch a fleet uses: it resolves once every other agent node reports the
 * deployment's color healthy, and fails at once naming a node whose version failed or that left.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type InstanceReport, instancesKey } from "../../src/fleet/agent-records.ts";
import { InstanceReports } from "../../src/fleet/instance-reports.ts";
import { followPrefix } from "../../src/store/follow-prefix.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";

const report = (deployment: number, health: InstanceReport["health"], detail: string | null = null) =>
  JSON.stringify({
    version: "v2",
    deployment,
    health,
    detail,
    instances: [],
    time: new Date().toISOString(),
  });

async function setup(nodes: string[]) {
  const store = new MemoryStore();
  const live = { nodes };
  const reports = new InstanceReports(() => live.nodes);
  const watch = await followPrefix(store, "instances/", reports);
  /** Resolves once the watch has delivered the write (events come asynchronously). */
  const put = async (node: string, value: string) => {
    await store.put(instancesKey(node, "web", "green"), value);
    await new Promise((r) => setImmediate(r));
  };
  return { store, live, reports, put, close: () => watch.cancel().then(() => store.close()) };
}

describe("waiting for the other nodes' reports", () => {
  it("resolves once every node reports this deployment's color healthy, not on an older deployment's", async () => {
    const f = await setup(["b", "c"]);
    let done: readonly string[] | undefined;
    const wait = f.reports.untilHealthy("web", "green", 7, new AbortController().signal).then((n) => {
      done = n;
      return n;
    });
    await f.put("b", report(6, "healthy"));
    await f.put("c", report(7, "healthy"));
    assert.equal(done, undefined, "b still reports deployment 6");
    assert.deepEqual(f.reports.pending("web", "green", 7), ["node b has not started it yet"]);
    await f.put("b", report(7, "starting", "instance web-green-7-0 is starting"));
    assert.equal(done, undefined);
    await f.put("b", report(7, "healthy"));
    assert.deepEqual(await wait, ["b", "c"]);
    await f.close();
  });

  it("fails naming the node whose version failed, or the node that left the fleet", async () => {
    const f = await setup(["b", "c"]);
    const failing = assert.rejects(
      f.reports.untilHealthy("web", "green", 7, new AbortController().signal),
      /node c: instance web-green-7-0 exited with code 3/,
    );
    await f.put(
      "c",
      report(7, "failed", "instance web-green-7-0 exited with code 3 before it became healthy"),
    );
    await failing;

    const leaving = assert.rejects(
      f.reports.untilHealthy("web", "blue", 8, new AbortController().signal),
      /node b left the fleet \(its lease expired\) before blue was healthy there/,
    );
    f.live.nodes = ["c"];
    f.reports.nodesChanged();
    await leaving;
    await f.close();
  });

  it("with no other agent node there is nothing to wait for; an abort ends the wait", async () => {
    const f = await setup([]);
    assert.deepEqual(await f.reports.untilHealthy("web", "green", 1, new AbortController().signal), []);
    f.live.nodes = ["b"];
    const ctl = new AbortController();
    const wait = f.reports.untilHealthy("web", "green", 2, ctl.signal);
    ctl.abort(new Error("deadline"));
    await assert.rejects(wait, /deadline/);
    await f.close();
  });
});
