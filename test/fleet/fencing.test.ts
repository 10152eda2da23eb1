/**
 * Fencing a deposed leader, across processes: two `teal server --node` on a 3-member etcd. a leads
 * and reaches etcd only through a TCP relay the test owns (member m0); b dials m1 and m2. a is
 * frozen with SIGSTOP past its lease TTL; b takes over and switches. The relay holds back what
 * etcd sends a from just before the freeze, so when a runs again (SIGCONT) it has heard nothing
 * and still believes it leads, as a paused process whose timers fire before it reads its socket:
 * its next write (a switch it is sent) reaches etcd with a compare-and-swap base that is still
 * current (b switched another service). The write must be refused (409 NOT_LEADER), the routing
 * must stay what the fleet had, and a must log that it no longer leads. Without the fence, a's
 * write went through and b followed it.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.ts";
import { api, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";
import { answer, etcdctlGet } from "./proxy-node.ts";

const PREFIX = "/fencing";
const TTL_S = 2;
let etcd: EtcdCluster;
let blue: Backend;
let green: Backend;
let relay: TcpRelay;
const servers: TealProcess[] = [];
const cleanup: Array<() => Promise<unknown>> = [];

const config = () => `
proxy:
  listen: 127.0.0.1:0
  workers: 1
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${blue.url}]
    green: [${green.url}]
  api:
    routes: [{ path: /api }]
    blue: [${blue.url}]
    green: [${green.url}]
`;

async function startNode(node: string, endpoints: string): Promise<TealProcess> {
  const dir = await tempDir();
  cleanup.push(() => dir.remove());
  const teal = await startTeal(config(), dir.path, {
    serverArgs: [
      "--store",
      `etcd://${endpoints}`,
      "--store-prefix",
      PREFIX,
      "--node",
      node,
      "--lease-ttl",
      String(TTL_S),
    ],
  });
  servers.push(teal);
  return teal;
}

/** Transactions member m0 has answered: only a dials it (through the relay). */
async function txnsOnM0(): Promise<number> {
  const text = await (await fetch(`${etcd.members[0]!.clientUrl}/metrics`)).text();
  const line = /^grpc_server_handled_total\{grpc_code="OK",grpc_method="Txn",[^}]*\} (\d+)$/m.exec(text);
  return Number(line?.[1] ?? 0);
}

const leaderOf = async (teal: TealProcess) => (await api(teal, "GET", "/v1/status")).body.leader;

before(async () => {
  [etcd, blue, green] = await Promise.all([
    startEtcd({ members: 3 }),
    startBackend("blue"),
    startBackend("green"),
  ]);
  const m0 = new URL(etcd.members[0]!.clientUrl);
  relay = await startTcpRelay({ host: m0.hostname, port: Number(m0.port) });
});

after(async () => {
  relay?.releaseReplies();
  for (const teal of servers) {
    try {
      process.kill(teal.child.pid as number, "SIGCONT");
    } catch {}
    await teal.stop().catch(() => {});
  }
  for (const fn of cleanup) await fn().catch(() => {});
  await Promise.all([relay?.close(), etcd?.stop(), blue?.close(), green?.close()]);
});

describe("a leader deposed while frozen", () => {
  it("has its next write refused with NOT_LEADER once another node leads; the routing stays the fleet's; it logs that it no longer leads", async () => {
    const a = await startNode("a", relay.address);
    assert.equal((await leaderOf(a))?.node, "a");
    const b = await startNode(
      "b",
      etcd.members
        .slice(1)
        .map((m) => new URL(m.clientUrl).host)
        .join(","),
    );
    const first = await api(a, "POST", "/v1/services/web/switch", { to: "green" });
    assert.equal(first.status, 200, JSON.stringify(first.body));

    relay.holdReplies();
    process.kill(a.child.pid as number, "SIGSTOP");
    const frozenAt = Date.now();
    await eventually(async () => (await leaderOf(b))?.node === "b", "b to lead", 20_000);
    const electedMs = Date.now() - frozenAt;
    // b switches another service (once it has settled the takeover and takes commands): a's
    // compare-and-swap base for web stays current.
    await eventually(
      async () => (await api(b, "POST", "/v1/services/api/switch", { to: "green" })).status === 200,
      "b to switch api",
    );

    const txns = await txnsOnM0();
    process.kill(a.child.pid as number, "SIGCONT");
    const stale = api(a, "POST", "/v1/services/web/switch", { to: "blue" });
    // a's write has reached etcd (and been answered there) before a hears anything.
    await eventually(async () => (await txnsOnM0()) > txns, "a's write to reach etcd");
    relay.releaseReplies();
    const refused = await stale;
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "NOT_LEADER");

    const stored = await etcdctlGet(etcd.endpoints, `${PREFIX}/routing/`);
    assert.equal(JSON.parse(stored[`${PREFIX}/routing/web`]!).live, "green");
    assert.equal(JSON.parse(stored[`${PREFIX}/routing/api`]!).live, "green");
    for (const teal of [a, b]) {
      await eventually(
        async () => (await answer(`${teal.proxyUrl}/api`)) === "green",
        "api on green everywhere",
      );
      assert.equal(await answer(teal.proxyUrl), "green");
    }
    await eventually(
      async () => a.logs.some((l) => /^node a no longer leads the fleet/.test(String(l.msg))),
      "a to log that it no longer leads",
    );
    assert.equal((await leaderOf(a))?.node, "b");
    const again = await api(a, "POST", "/v1/services/web/switch", { to: "blue" });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.details.leader, "b");
    console.log(
      `fencing: b led ${electedMs} ms after a froze; a's write after SIGCONT: ${refused.body.error.message}`,
    );
  });
});
