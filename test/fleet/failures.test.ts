/**
 * Failures during a fleet's deployments: three `teal server --node` processes on a 3-member etcd,
 * each running its own instances, keep-alive load through the proxies throughout.
 * - The etcd LEADER member is killed with SIGKILL while a blue-green deployment's new instances
 *   come up: etcd elects another member, the deployment completes on every node, 0 failed
 *   requests (the member is restarted after).
 * - The teal leader is killed with SIGKILL while a canary holds a split step (50% on the new
 *   color on every node): another node leads within the lease TTL, continues from the stored
 *   phase (traffic had not all moved, so it rolls back: routing back on the stable color on every
 *   node, the canary's instances stopped), the history says who took over from whom, and the
 *   surviving proxies fail no request.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig, type TealProcess } from "../support/teal-process.ts";
import { deploymentEnded, deploymentOf, startDeploy } from "./deployments.ts";
import { answer, underLoad } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

// teal's default. etcd's own re-election takes about 1 s here, but with two fleet files at once on
// 2 cores a node's 3 s lease still expired during it once in a few runs (keep-alives refused by the
// killed member, then queued behind the election), failing a deployment that needs every node.
const TTL_S = 5;
const CONFIG =
  processServiceConfig(`    deployment: { timeoutMs: 15000, scaleDownDelayMs: 0, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 50
          - pause: { duration: 120s }
`);
const fleet = useServerFleet({ prefix: "/failures", leaseTtlS: TTL_S });
const startNode = (node: string) => fleet.startNode(node, CONFIG);

const ended = (teal: TealProcess, seq: number) => deploymentEnded(teal, seq, fleet);

/** Once every node in `on` reports `version` on `color` healthy, as `teal` sees it. */
const runEverywhere = (teal: TealProcess, on: readonly string[], color: string, version: string) =>
  eventually(
    async () => {
      const nodes = (await api(teal, "GET", "/v1/status")).body.nodes as Json[];
      return on.every((n) =>
        nodes
          .find((x) => x.node === n)
          ?.instances.some((i: Json) => i.color === color && i.version === version && i.health === "healthy"),
      );
    },
    `${on.join(", ")} to run ${color} ${version}`,
  );

describe("a fleet's deployments survive failures", () => {
  let a: TealProcess;
  let b: TealProcess;
  let c: TealProcess;

  it("the etcd leader killed while a deployment's new instances come up: it completes on every node, 0 failed requests", async () => {
    a = await startNode("a");
    b = await startNode("b");
    c = await startNode("c");
    assert.equal((await api(b, "GET", "/v1/status")).body.leader.node, "a");
    // The first version goes straight to 100% (nothing to compare a canary with).
    const first = await ended(a, await startDeploy(a, { version: "v1" }));
    assert.equal(first.outcome, "succeeded", JSON.stringify(first.events?.slice(-3)));
    await runEverywhere(a, ["b", "c"], "blue", "v1");

    const etcd = fleet.etcd();
    const leader = await etcd.leader();
    const {
      value: d,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, b.proxyUrl, c.proxyUrl], async () => {
      // Instances that take 1.5 s to listen: etcd loses its leader while every node waits for them.
      const seq = await startDeploy(a, {
        version: "v2",
        strategy: "blueGreen",
        env: { APP_START_DELAY_MS: "1500" },
      });
      // A bound, not a wait: on a busy 2-core machine the instance took more than 10 s once.
      await eventually(
        async () => (await deploymentOf(a, seq))?.events.some((e: Json) => e.type === "instance"),
        "a to start v2's instance",
        30_000,
      );
      await etcd.kill(leader);
      return ended(a, seq);
    });
    await etcd.restart(leader);
    console.log(
      `failures: etcd leader ${leader.name} killed mid-deployment: ${d.outcome}; ${ok} requests through 3 proxies, ${failed.length} failed`,
    );
    assert.equal(d.outcome, "succeeded", JSON.stringify(d.events?.slice(-4)));
    for (const teal of [a, b, c]) assert.equal(JSON.parse(await answer(`${teal.proxyUrl}/`)).version, "v2");
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });

  it("the teal leader killed mid-canary: another node takes over within the TTL, rolls back everywhere, the history says so; 0 failed requests", async () => {
    await runEverywhere(a, ["b", "c"], "green", "v2");
    const seq = await startDeploy(a, { version: "v3" });
    // The canary holds its 50% step (a 120 s pause), as b and c serve it.
    for (const teal of [b, c]) {
      await eventually(
        async () => (await api(teal, "GET", "/v1/services/web")).body.weights?.blue === 50,
        "the canary's split step to reach every node",
      );
    }
    assert.equal((await deploymentOf(a, seq))?.outcome, "running");
    const killedAt = Date.now();
    const {
      value: { leader, electedMs, d, settledMs },
      ok,
      failed,
    } = await underLoad([b.proxyUrl, c.proxyUrl], async () => {
      await a.kill9();

      const leader = await eventually(async () => {
        const now = (await api(b, "GET", "/v1/status")).body.leader?.node;
        return now === "b" || now === "c" ? (now as string) : undefined;
      }, "b or c to lead");
      const electedMs = Date.now() - killedAt;
      const d = await ended(b, seq);
      const settledMs = Date.now() - killedAt;
      // Routing back on green (the stable color) on both surviving nodes, the canary's blue stopped.
      await eventually(async () => {
        const nodes = (await api(b, "GET", "/v1/status")).body.nodes as Json[];
        return ["b", "c"].every(
          (n) => !nodes.find((x) => x.node === n)?.instances.some((i: Json) => i.color === "blue"),
        );
      }, "the canary's instances to stop on b and c");
      return { leader, electedMs, d, settledMs };
    });
    console.log(
      `failures: teal leader killed mid-canary -> ${leader} leads in ${electedMs} ms, canary settled (${d.outcome}) in ${settledMs} ms; ${ok} requests through b and c, ${failed.length} failed`,
    );
    assert.ok(electedMs < TTL_S * 1_000 + 3_000, `elected after ${electedMs} ms`);
    assert.equal(d.outcome, "failed");
    const messages = (d.events as Json[]).map((e) => e.message as string);
    assert.ok(
      messages.includes(`node ${leader} took over from node a: a's lease expired`),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) =>
        /^node a stopped leading during phase \S+, before all traffic had moved to blue/.test(m),
      ),
      messages.join("\n"),
    );
    for (const teal of [b, c]) {
      for (let i = 0; i < 10; i++) assert.equal(JSON.parse(await answer(`${teal.proxyUrl}/`)).version, "v2");
    }
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });
});
