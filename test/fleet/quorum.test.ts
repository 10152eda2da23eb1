/**
 * `fleet.quorum: 2` on three `teal server --node` processes (3-member etcd, each node running
 * its own instances). The new version fails its health check on node c only: the deployment
 * goes on with a and b, c is drained out of the service's routing (its proxy keeps serving its
 * own instance of the previous color, never the version that failed there, and that color is
 * not stopped on it), the history and every node's status say so, and keep-alive load through
 * all three proxies fails no request. A later version that comes up on c ends the drain.
 * (quorum all, the default, failing such a deployment: agents.test.ts.)
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig, runCli, type TealProcess } from "../support/teal-process.ts";
import { deploy as deployOn } from "./deployments.ts";
import { answer, underLoad } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

// No node is killed here: a TTL well clear of a busy machine's pauses keeps one leader throughout.
const TTL_S = 5;
const DEPLOYMENT = `    deployment: { timeoutMs: 5000, scaleDownDelayMs: 0, drainTimeoutMs: 2000 }\n`;
const fleet = useServerFleet({ prefix: "/quorum", leaseTtlS: TTL_S });

function startNode(node: string, env = ""): Promise<TealProcess> {
  const config = `fleet:\n  quorum: 2\n${processServiceConfig(DEPLOYMENT).replace(
    "      stopTimeoutMs: 2000\n",
    `      stopTimeoutMs: 2000\n${env ? `      env: { ${env} }\n` : ""}`,
  )}`;
  return fleet.startNode(node, config);
}

const deploy = (teal: TealProcess, body: Json) => deployOn(teal, body, fleet);

/** What each node reports, from `teal`'s status: node -> color -> report. */
async function instancesOf(teal: TealProcess): Promise<Map<string, Map<string, Json>>> {
  const nodes = (await api(teal, "GET", "/v1/status")).body.nodes as Json[];
  return new Map(
    nodes.map((n) => [n.node as string, new Map((n.instances as Json[]).map((i) => [i.color as string, i]))]),
  );
}

const versionAt = async (teal: TealProcess) => JSON.parse(await answer(`${teal.proxyUrl}/`)) as Json;

describe("fleet.quorum", () => {
  let a: TealProcess;
  let b: TealProcess;
  let c: TealProcess;

  it("quorum 2 of 3: a version failing on c switches a and b, c is drained (serves the old color, shown), 0 failed requests", async () => {
    a = await startNode("a");
    b = await startNode("b");
    c = await startNode("c", "APP_HEALTH_FAIL_VERSION: v2");
    const first = await deploy(a, { version: "v1" });
    assert.equal(first.outcome, "succeeded", JSON.stringify(first.events?.slice(-3)));
    await eventually(async () => {
      const r = await instancesOf(a);
      return ["b", "c"].every((n) => r.get(n)?.get("blue")?.health === "healthy");
    }, "b and c to run v1");
    const cBlue = (await instancesOf(a)).get("c")?.get("blue")?.instances[0].pid as number;

    const {
      value: second,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, b.proxyUrl, c.proxyUrl], async () => {
      const d = await deploy(a, { version: "v2" });
      // After the switch: the old color is stopped on a and b (scaleDownDelayMs 0), not on c.
      await eventually(async () => {
        const r = await instancesOf(a);
        return !r.get("a")?.has("blue") && !r.get("b")?.has("blue");
      }, "a and b to stop blue v1");
      return d;
    });
    console.log(
      `quorum: v2 failing on c: ${second.outcome}; ${ok} requests through 3 proxies, ${failed.length} failed`,
    );
    assert.equal(second.outcome, "succeeded", JSON.stringify(second.events?.slice(-4)));
    const messages = (second.events as Json[]).map((e) => e.message as string);
    assert.ok(
      messages.some((m) =>
        m.startsWith(
          "node c drained out of the routing of web (fleet.quorum): its proxy keeps serving blue instead of green; node c:",
        ),
      ),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => /all instances healthy: .*; and on node\(s\) b$/.test(m)),
      messages.join("\n"),
    );

    for (const teal of [a, b]) assert.equal((await versionAt(teal)).version, "v2");
    const atC = await versionAt(c);
    assert.equal(
      atC.version,
      "v1",
      "c's proxy serves its own previous color, not the version that failed there",
    );
    // Every server shows the drain, the follower too.
    for (const teal of [a, b]) {
      const green = (await instancesOf(teal)).get("c")?.get("green");
      assert.equal(green?.health, "failed", JSON.stringify(green));
      assert.equal(green?.drained?.serving, "blue", JSON.stringify(green));
      assert.match(green?.drained?.reason as string, /^node c: /);
    }
    // What an operator reads: teal status marks c's failed green as drained.
    const cli = await runCli(["status", "--admin", b.adminUrl, "--token", b.token], { NO_COLOR: "1" });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /web green v2 #2 {2}failed .*drained: its proxy serves blue instead/,
      cli.stdout,
    );
    const cReports = (await instancesOf(a)).get("c");
    assert.equal(cReports?.get("blue")?.instances[0].pid, cBlue, "c's blue v1 kept running");
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });

  it("a later version that comes up on c ends its drain: every node serves it", async () => {
    // c is out of the load balancer while drained: its previous color is replaced by v3 there.
    const {
      value: third,
      ok,
      failed,
    } = await underLoad([a.proxyUrl, b.proxyUrl], () => deploy(a, { version: "v3" }));
    assert.equal(third.outcome, "succeeded", JSON.stringify(third.events?.slice(-4)));
    const health = (third.events as Json[]).find((e) => e.message.startsWith("all instances healthy"));
    assert.match(health?.message as string, /and on node\(s\) b, c$/);
    for (const teal of [a, b, c]) assert.equal((await versionAt(teal)).version, "v3");
    await eventually(
      async () => {
        const r = await instancesOf(b);
        return (
          [...(r.get("c")?.values() ?? [])].every((i) => i.drained === undefined) && !r.get("c")?.has("green")
        );
      },
      "c's drain to end and its failed green to stop",
      30_000,
    );
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 10, `load ran: ${ok} requests`);
  });
});
