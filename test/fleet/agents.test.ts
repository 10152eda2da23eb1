/**
 * Per-node agents: three `teal server --node` processes on a 3-member etcd, each with its own
 * data directory and so its own instances (process runtime, the fixture app, whose answers say
 * which port answered). Node a leads and deploys; b and c run what its tasks ask. Each proxy
 * must answer from its OWN instance of the live color, a blue-green deploy under keep-alive load
 * through all three proxies fails no request and stops every node's old instances, a new color
 * that fails its health on one node fails the deployment with every node kept on the old color,
 * and a node killed mid-deployment fails it (quorum: all).
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig, type TealProcess } from "../support/teal-process.ts";
import { deploymentOf, deploy as deployOn } from "./deployments.ts";
import { answer, underLoad } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

// Short enough that a node killed -9 leaves well within the deployment's timeout; not 2 s, with which
// a live node's lease expired twice in a busy run (two fleet files at once on 2 cores).
const TTL_S = 4;
const DEPLOYMENT = `    deployment: { timeoutMs: 8000, scaleDownDelayMs: 0, drainTimeoutMs: 2000 }\n`;
const fleet = useServerFleet({ prefix: "/agents", leaseTtlS: TTL_S });
const { servers } = fleet;

/** `env`: this node's own runtime environment (its teal.yaml), to make one machine misbehave. */
function startNode(node: string, env = "", dataDir?: string): Promise<TealProcess> {
  const config = processServiceConfig(DEPLOYMENT).replace(
    "      stopTimeoutMs: 2000\n",
    `      stopTimeoutMs: 2000\n${env ? `      env: { ${env} }\n` : ""}`,
  );
  return fleet.startNode(node, config, dataDir);
}

const deploy = (teal: TealProcess, body: Json) => deployOn(teal, body, fleet);

/** What each node reports it runs, from the leader's status: node -> "color" -> report. */
async function instancesOf(leader: TealProcess): Promise<Map<string, Map<string, Json>>> {
  const nodes = (await api(leader, "GET", "/v1/status")).body.nodes as Json[];
  return new Map(
    nodes.map((n) => [n.node as string, new Map((n.instances as Json[]).map((i) => [i.color as string, i]))]),
  );
}

/** Once every node reports `version` on `color` healthy. */
function reportedEverywhere(color: string, version: string): Promise<Map<string, Map<string, Json>>> {
  return eventually(async () => {
    const reports = await instancesOf(servers.get("a") as TealProcess);
    const ok = ["a", "b", "c"].every((node) => {
      const r = reports.get(node)?.get(color);
      return r?.version === version && r.health === "healthy";
    });
    return ok && reports;
  }, `every node to report ${color} ${version} healthy`);
}

const portOf = (url: string) => Number(new URL(url).port);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("per-node agents on a fleet", () => {
  let a: TealProcess;
  let b: TealProcess;
  let c: TealProcess;
  let bGreenPid = 0;

  it("a blue-green deploy runs on every node, each proxy answers from its own new instance, 0 failed requests under load, old instances stopped", async () => {
    a = await startNode("a");
    b = await startNode("b");
    c = await startNode("c", "APP_HEALTH_FAIL_VERSION: v3");
    assert.equal((await api(b, "GET", "/v1/status")).body.leader.node, "a");
    const first = await deploy(a, { version: "v1" });
    assert.equal(first.outcome, "succeeded", JSON.stringify(first.events?.slice(-3)));
    // b and c were healthy before the deployment ended; the leader reports its own within a second.
    const before = await reportedEverywhere("blue", "v1");
    const oldPids = [...before.values()].map((m) => m.get("blue")?.instances[0].pid as number);
    assert.equal(new Set(oldPids).size, 3, `three instances of their own: ${oldPids}`);

    const {
      value: second,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, b.proxyUrl, c.proxyUrl], () => deploy(a, { version: "v2" }));
    assert.equal(second.outcome, "succeeded", JSON.stringify(second.events?.slice(-3)));
    const healthLine = (second.events as Json[]).find((e) => e.message.startsWith("all instances healthy"))
      ?.message as string;
    assert.match(healthLine, /and on node\(s\) b, c$/);

    const now = await reportedEverywhere("green", "v2");
    const ports = new Set<number>();
    for (const [node, teal] of [
      ["a", a],
      ["b", b],
      ["c", c],
    ] as const) {
      const green = now.get(node)?.get("green");
      assert.equal(green?.version, "v2", `${node}: ${JSON.stringify(green)}`);
      const own = portOf(green?.instances[0].url as string);
      ports.add(own);
      const body = JSON.parse(await answer(`${teal.proxyUrl}/`)) as Json;
      assert.equal(body.version, "v2");
      assert.equal(body.port, own, `${node}'s proxy answers from its own instance`);
    }
    assert.equal(ports.size, 3);
    // scaleDownDelayMs 0: every node stops its blue v1 once the leader has.
    await eventually(async () => {
      const reports = await instancesOf(a);
      return [...reports.values()].every((m) => !m.has("blue")) && oldPids.every((pid) => !alive(pid));
    }, "every node's old instances to stop");
    console.log(
      `agents: blue-green across 3 nodes, ${ok} requests through 3 proxies, ${failed.length} failed`,
    );
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });

  it("a new color that fails its health on one node fails the deployment: every node keeps the old color, the new instances stop", async () => {
    const {
      value: third,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, b.proxyUrl, c.proxyUrl], () => deploy(a, { version: "v3" }));
    console.log(`agents: v3 failing on c: "${third.reason}"; ${ok} requests, ${failed.length} failed`);
    assert.equal(third.outcome, "failed");
    assert.match(third.reason as string, /node c/, third.reason);
    for (const teal of [a, b, c]) {
      const body = JSON.parse(await answer(`${teal.proxyUrl}/`)) as Json;
      assert.equal(body.version, "v2");
      assert.equal(body.color, "green");
    }
    await eventually(async () => {
      const reports = await instancesOf(a);
      return [...reports.values()].every((m) => !m.has("blue") && m.get("green")?.version === "v2");
    }, "the failed blue v3 to stop on every node");
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 10, `load ran: ${ok} requests`);
  });

  it("a node killed mid-deployment fails it (quorum all); the others keep serving the old color", async () => {
    const started = await api(a, "POST", "/v1/services/web/deployments", {
      version: "v4",
      env: { APP_START_DELAY_MS: "30000" },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const seq = started.body.deployment.seq as number;
    await eventually(
      async () => (await instancesOf(a)).get("b")?.get("blue")?.version === "v4",
      "b to start v4",
    );
    bGreenPid = (await instancesOf(a)).get("b")?.get("green")?.instances[0].pid as number;
    const {
      value: d,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, c.proxyUrl], async () => {
      await b.kill9();
      return eventually(async () => {
        const x = await deploymentOf(a, seq);
        return x?.outcome !== "running" && x;
      }, "the deployment to end");
    });
    console.log(`agents: b killed: "${d.reason}"; ${ok} requests through a and c, ${failed.length} failed`);
    assert.equal(d.outcome, "failed");
    assert.match(d.reason as string, /node b left the fleet/, d.reason);
    for (const teal of [a, c]) assert.equal(JSON.parse(await answer(`${teal.proxyUrl}/`)).version, "v2");
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 10, `load ran: ${ok} requests`);
  });

  it("a node restarted after kill -9 re-adopts its own instance of the live color and stops what its tasks no longer ask for", async () => {
    assert.ok(alive(bGreenPid), "b's green instance outlived b");
    const restarted = await startNode("b", "", b.dataDir);
    await eventually(
      async () => {
        const mine = (await instancesOf(a)).get("b");
        const green = mine?.get("green");
        return green?.health === "healthy" && green.instances[0].pid === bGreenPid && !mine?.has("blue");
      },
      "b to re-adopt its green v2 and stop blue v4",
      30_000,
    );
    const body = JSON.parse(await answer(`${restarted.proxyUrl}/`)) as Json;
    assert.equal(body.version, "v2");
    const green = (await instancesOf(a)).get("b")?.get("green");
    assert.equal(body.port, portOf(green?.instances[0].url as string));
  });
});
