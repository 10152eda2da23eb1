/**
 * Analysis on a fleet judges the fleet's traffic: a real `teal server --node srv` (the leader,
 * running the service's instances) and two `teal proxy` nodes on a real 3-member etcd. The edges'
 * green endpoint answers 500, the leader's green instance is healthy: the errors of the canary
 * go through the OTHER nodes' proxies only. The leader judges the sum of every node's counters
 * (published at stats/<service>/<node>), so the analysis fails and the canary is rolled back on
 * every node. With the leader's own counters alone it would see 0 errors and promote.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import {
  api,
  type Json,
  processServiceConfig,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";
import { answer, etcdctlGet, keepAliveLoad, type ProxyNode, startProxyNode } from "./proxy-node.ts";

const PREFIX = "/fleet-analysis";
// The analysis step is long enough for the leader's own (healthy) counters to pass it: only the
// edges' errors can fail it. 50% on the canary, so every proxy sends plenty to both colors.
const CANARY = `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 50
          - analysis: { duration: 8s }
    analysis:
      window: 4s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 500ms, minRequests: 10 }`;

let etcd: EtcdCluster;
let good: Backend;
let failing: Backend;
let teal: TealProcess;
const edges: ProxyNode[] = [];
const cleanup: Array<() => Promise<unknown>> = [];

const hosts = (endpoints: readonly string[]) => endpoints.map((e) => new URL(e).host).join(",");
const store = () => ["--store", `etcd://${hosts(etcd.endpoints)}`, "--store-prefix", PREFIX];

before(async () => {
  [etcd, good, failing] = await Promise.all([
    startEtcd({ members: 3 }),
    startBackend("blue"),
    startBackend("green", (req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(500).end("green fails"));
    }),
  ]);
  const dirs = await Promise.all([tempDir(), tempDir(), tempDir()]);
  cleanup.push(() => Promise.all(dirs.map((d) => d.remove())));
  teal = await startTeal(processServiceConfig(CANARY), dirs[0]!.path, {
    serverArgs: [...store(), "--node", "srv"],
  });
  cleanup.push(() => teal.stop());
  for (const [i, name] of ["edge-1", "edge-2"].entries()) {
    const edge = await startProxyNode(webServiceConfig(good, failing), dirs[i + 1]!.path, [
      ...store(),
      "--node",
      name,
    ]);
    edges.push(edge);
    cleanup.push(() => edge.stop());
  }
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await Promise.all([etcd?.stop(), good?.close(), failing?.close()]);
});

const deployment = async (seq: number): Promise<Json | undefined> =>
  ((await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[]).find(
    (d) => d.seq === seq,
  );

async function deploy(version: string): Promise<number> {
  const res = await api(teal, "POST", "/v1/services/web/deployments", { version });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.deployment.seq as number;
}

describe("analysis on a fleet", () => {
  it("fails a canary whose errors come only through the other nodes' proxies, and rolls it back on every node", async () => {
    const first = await deploy("v1");
    await eventually(async () => (await deployment(first))?.outcome === "succeeded", "v1 to go live");
    assert.equal(JSON.parse(await answer(teal.proxyUrl)).color, "blue");

    const load = keepAliveLoad([teal.proxyUrl, ...edges.map((e) => e.proxyUrl)]);
    const canaryEnds = async () => {
      const seq = await deploy("v2");
      return eventually(
        async () => {
          const d = await deployment(seq);
          return d?.outcome !== "running" && d;
        },
        "the canary to end",
        30_000,
      );
    };
    // The load stops also when the wait fails: its loops would spin on refused connections after.
    const settled = await canaryEnds().finally(() => load.stop());
    const { ok, failed } = await load.stop();
    console.log(`fleet analysis: ${ok} ok, ${failed.length} failed requests through the three proxies`);

    assert.equal(settled.outcome, "rolled_back", `${settled.outcome}: ${settled.reason}`);
    assert.equal(settled.rollbackCause, "analysis");
    assert.match(settled.reason, /^analysis "errors" failed: errorRate (0\.\d+|1) > max 0\.05/);
    // Every failure came from an edge's green: the leader's own proxy saw none.
    assert.ok(failed.length > 0, "the edges served errors");
    assert.ok(
      failed.every((f) => !f.startsWith(teal.proxyUrl)),
      failed.filter((f) => f.startsWith(teal.proxyUrl)).join("; "),
    );

    // Back on the stable color everywhere: every node serves blue, and is in step.
    for (const edge of edges) {
      for (let i = 0; i < 10; i++) assert.equal(await answer(edge.proxyUrl), "blue");
    }
    for (let i = 0; i < 10; i++) assert.equal(JSON.parse(await answer(teal.proxyUrl)).color, "blue");
    const nodes = (await api(teal, "GET", "/v1/status")).body.nodes as Json[];
    assert.deepEqual(
      nodes.map((n) => `${n.node}:${n.lag}`),
      ["edge-1:0", "edge-2:0", "srv:0"],
    );

    // What the leader summed: each node's counters, on its lease, readable with etcdctl.
    const stats = await etcdctlGet(etcd.endpoints, `${PREFIX}/stats/web/`);
    assert.deepEqual(
      Object.keys(stats).sort(),
      ["edge-1", "edge-2", "srv"].map((n) => `${PREFIX}/stats/web/${n}`),
    );
    const edgeGreen = JSON.parse(stats[`${PREFIX}/stats/web/edge-1`]!).colors.green;
    assert.ok(edgeGreen.byClass[5] > 0, JSON.stringify(edgeGreen));
  });
});
