/**
 * Takeover: three `teal server --node` processes on a 3-member etcd, all on one machine, each
 * running its own instances (its agent). Node a leads and deploys v1; b and c start after and
 * run v1 from the tasks a writes for them. a starts deploying v2 (whose instance is slow to come up), and is killed with SIGKILL
 * mid-deployment. Another node wins the election within the lease TTL, settles the deployment
 * through the recovery path (here: no traffic had moved, so it is rolled back), and its history
 * says who took over from whom and why; keep-alive load through the surviving proxies sees 0
 * failed requests throughout. Prints the times from the kill to the new leader and to the
 * deployment's end.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig, type TealProcess } from "../support/teal-process.ts";
import { keepAliveLoad } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

const TTL_S = 2;
const fleet = useServerFleet({ prefix: "/takeover", leaseTtlS: TTL_S });
const startNode = (node: string) => fleet.startNode(node, processServiceConfig());

const deployments = async (teal: TealProcess) =>
  (await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[];

describe("takeover of a deployment when the leader dies", () => {
  it("another node wins within the lease TTL, settles the deployment, and records who took over; 0 failed requests", async () => {
    const a = await startNode("a");
    const first = await api(a, "POST", "/v1/services/web/deployments", { version: "v1" });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    await eventually(
      async () =>
        (await deployments(a)).find((d) => d.seq === first.body.deployment.seq)?.outcome === "succeeded",
      "v1 to be deployed",
    );
    const [b, c] = [await startNode("b"), await startNode("c")];
    assert.equal((await api(b, "GET", "/v1/status")).body.leader.node, "a");
    // A node that joins runs the live version once a's tasks reach it: wait for b's and c's own.
    await eventually(async () => {
      const nodes = (await api(a, "GET", "/v1/status")).body.nodes as Json[];
      return ["b", "c"].every((n) =>
        nodes
          .find((x) => x.node === n)
          ?.instances.some((i: Json) => i.color === "blue" && i.version === "v1" && i.health === "healthy"),
      );
    }, "b and c to run v1");
    const load = keepAliveLoad([b.proxyUrl, c.proxyUrl]);

    // v2's instance comes up after 30 s: a is killed while the deployment waits for it.
    const second = await api(a, "POST", "/v1/services/web/deployments", {
      version: "v2",
      env: { APP_START_DELAY_MS: "30000" },
    });
    assert.equal(second.status, 202, JSON.stringify(second.body));
    const seq = second.body.deployment.seq as number;
    await eventually(
      async () =>
        (await deployments(b)).find((d) => d.seq === seq)?.events.some((e: Json) => e.type === "instance"),
      "a to start v2's instance",
    );
    const killedAt = Date.now();
    await a.kill9();

    const leader = await eventually(async () => {
      const now = (await api(b, "GET", "/v1/status")).body.leader?.node;
      return now === "b" || now === "c" ? (now as string) : undefined;
    }, "b or c to lead");
    const electedMs = Date.now() - killedAt;
    const settled = await eventually(async () => {
      const d = (await deployments(b)).find((x) => x.seq === seq);
      return d?.outcome !== "running" && d;
    }, "the new leader to settle the deployment");
    const settledMs = Date.now() - killedAt;

    // Within the lease TTL plus the time for etcd to expire it and the watch to tell (bounded loosely).
    assert.ok(electedMs < TTL_S * 1_000 + 3_000, `elected after ${electedMs} ms`);
    assert.equal(settled.outcome, "failed");
    const messages = (settled.events as Json[]).map((e) => e.message as string);
    assert.ok(
      messages.includes(`node ${leader} took over from node a: a's lease expired`),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => m.startsWith("node a stopped leading during phase")),
      messages.join("\n"),
    );
    // The new leader takes commands; the other one refuses them, naming it.
    const other = leader === "b" ? c : b;
    const refused = await api(other, "POST", "/v1/services/web/switch", { to: "blue" });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.details.leader, leader);

    const { ok, failed } = await load.stop();
    console.log(
      `takeover: kill -9 -> ${leader} leads in ${electedMs} ms, deployment settled in ${settledMs} ms; ${ok} requests through b and c, ${failed.length} failed`,
    );
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });
});
