/**
 * The leader's wait for the other nodes' reports (instance-reports.ts), on the in-memory store
 * through the same watch a fleet uses: it resolves once every other agent node reports the
 * deployment's color healthy, and fails at once naming a node whose version failed or that left.
 * With `fleet.quorum: N` it goes on once N - 1 others are healthy and the rest failed, left, or
 * (at the deadline) are still not healthy, and fails once N is out of reach.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type InstanceReport, instancesKey } from "../../src/fleet/agent-records.ts";
import { type FleetQuorum, InstanceReports } from "../../src/fleet/instance-reports.ts";
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

async function setup(nodes: string[], quorum: FleetQuorum = "all") {
  const store = new MemoryStore();
  const live = { nodes };
  const reports = new InstanceReports(
    () => live.nodes,
    () => quorum,
  );
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
      done = n.healthy;
      return n;
    });
    await f.put("b", report(6, "healthy"));
    await f.put("c", report(7, "healthy"));
    assert.equal(done, undefined, "b still reports deployment 6");
    assert.deepEqual(f.reports.pending("web", "green", 7), ["node b has not started it yet"]);
    await f.put("b", report(7, "starting", "instance web-green-7-0 is starting"));
    assert.equal(done, undefined);
    await f.put("b", report(7, "healthy"));
    assert.deepEqual((await wait).healthy, ["b", "c"]);
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
    assert.deepEqual(
      (await f.reports.untilHealthy("web", "green", 1, new AbortController().signal)).healthy,
      [],
    );
    f.live.nodes = ["b"];
    const ctl = new AbortController();
    const wait = f.reports.untilHealthy("web", "green", 2, ctl.signal);
    ctl.abort(new Error("deadline"));
    await assert.rejects(wait, /deadline/);
    await f.close();
  });

  it("with a quorum of 2 (the leader and one other): goes on without the node whose version failed", async () => {
    const f = await setup(["b", "c"], 2);
    let settled = false;
    const wait = f.reports.untilHealthy("web", "green", 7, new AbortController().signal).finally(() => {
      settled = true;
    });
    await f.put("b", report(7, "healthy"));
    assert.equal(settled, false, "c is still starting: it may still come up");
    await f.put("c", report(7, "failed", "instance web-green-7-0 exited with code 3"));
    const outcome = await wait;
    assert.deepEqual(outcome.healthy, ["b"]);
    assert.deepEqual(outcome.failed, [
      { node: "c", reason: "node c: instance web-green-7-0 exited with code 3" },
    ]);
    assert.deepEqual(outcome.left, []);
    await f.close();
  });

  it("with a quorum: fails once it is out of reach, naming the nodes, and at the deadline counts who is healthy", async () => {
    const f = await setup(["b", "c"], 3);
    const failing = assert.rejects(
      f.reports.untilHealthy("web", "green", 7, new AbortController().signal),
      /the quorum of 3 node\(s\) is out of reach: node c: exited/,
    );
    await f.put("c", report(7, "failed", "exited"));
    await failing;

    const big = await setup(["b", "c"], 5);
    await assert.rejects(
      big.reports.untilHealthy("web", "green", 7, new AbortController().signal),
      /fleet.quorum is 5 but the fleet has 3 agent node\(s\)/,
    );
    await big.close();

    const late = await setup(["b", "c"], 2);
    await late.put("b", report(8, "healthy"));
    await late.put("c", report(8, "starting", "instance web-green-8-0 is starting"));
    assert.deepEqual(late.reports.atDeadline("web", "green", 8, 1000), {
      healthy: ["b"],
      failed: [
        {
          node: "c",
          reason: "node c: green not healthy within 1000 ms (instance web-green-8-0 is starting)",
        },
      ],
      left: [],
    });
    await late.put("b", report(8, "starting"));
    assert.equal(late.reports.atDeadline("web", "green", 8, 1000), undefined, "no other node healthy");
    const all = await setup(["b"]);
    await all.put("b", report(8, "healthy"));
    assert.equal(
      all.reports.atDeadline("web", "green", 8, 1000),
      undefined,
      "quorum all: the deadline fails it",
    );
    await all.close();
    await late.close();
    await f.close();
  });
});
