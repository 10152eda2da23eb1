/**
 * Acknowledged switches on a real 3-member etcd cluster: one `teal server --node` and two `teal
 * proxy` nodes, the second one dialing etcd through a TCP relay the test owns. A switch returns
 * once every live node serves it (each proxy answers the new color right after the call); with
 * a node cut off it returns after --ack-timeout with that node listed as lagging, the cut-off
 * node keeps serving the old color, and it converges when the relay is restored.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { renderStatus } from "../../src/cli/commands/status.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.ts";
import {
  api,
  type Json,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";
import { answer, etcdctlGet, keepAliveLoad, type ProxyNode, startProxyNode } from "./proxy-node.ts";

const PREFIX = "/acks";
let etcd: EtcdCluster;
let blue: Backend;
let green: Backend;
let relay: TcpRelay;
let teal: TealProcess;
let edge1: ProxyNode;
let edge2: ProxyNode;
const cleanup: Array<() => Promise<unknown>> = [];

const hosts = (endpoints: readonly string[]) => endpoints.map((e) => new URL(e).host).join(",");

before(async () => {
  [etcd, blue, green] = await Promise.all([
    startEtcd({ members: 3 }),
    startBackend("blue"),
    startBackend("green"),
  ]);
  const first = new URL(etcd.endpoints[0] as string);
  relay = await startTcpRelay({ host: first.hostname, port: Number(first.port) });
  const store = ["--store-prefix", PREFIX];
  const dirs = await Promise.all([tempDir(), tempDir(), tempDir()]);
  cleanup.push(() => Promise.all(dirs.map((d) => d.remove())));
  teal = await startTeal(webServiceConfig(blue, green), dirs[0]!.path, {
    serverArgs: [
      "--store",
      `etcd://${hosts(etcd.endpoints)}`,
      ...store,
      "--node",
      "srv",
      "--ack-timeout",
      "1",
    ],
  });
  cleanup.push(() => teal.stop());
  edge1 = await startProxyNode(webServiceConfig(blue, green), dirs[1]!.path, [
    "--store",
    `etcd://${hosts(etcd.endpoints)}`,
    ...store,
    "--node",
    "edge-1",
  ]);
  cleanup.push(() => edge1.stop());
  // Only through the relay: cutting it cuts this node off from the whole cluster.
  edge2 = await startProxyNode(webServiceConfig(blue, green), dirs[2]!.path, [
    "--store",
    `etcd://${relay.address}`,
    ...store,
    "--node",
    "edge-2",
    // Long enough that it is still listed (as lagging, then cut off: its heartbeat is TTL/3 = 5 s)
    // while the test reads the status with the CLI.
    "--lease-ttl",
    "15",
  ]);
  cleanup.push(() => edge2.stop());
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await Promise.all([relay?.close(), etcd?.stop(), blue?.close(), green?.close()]);
});

const proxies = () => [teal.proxyUrl, edge1.proxyUrl, edge2.proxyUrl];
const nodesOf = async () =>
  (
    (await api(teal, "GET", "/v1/status")).body.nodes as Array<{
      node: string;
      revision: number;
      lag: number;
    }>
  ).map((n) => `${n.node}:${n.lag === 0 ? "in step" : "lagging"}`);

describe("acknowledged switches across a fleet on etcd", () => {
  it("returns once every node serves the new color, with 0 failed requests under keep-alive load through all three", async () => {
    assert.deepEqual(await nodesOf(), ["edge-1:in step", "edge-2:in step", "srv:in step"]);
    const load = keepAliveLoad(proxies());
    for (const to of ["green", "blue", "green", "blue", "green"]) {
      const res = await api(teal, "POST", "/v1/services/web/switch", { to });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.lagging, []);
      assert.equal(res.body.warning, undefined);
      // Right after the call: no waiting, every node already answers with the new color.
      assert.deepEqual(await Promise.all(proxies().map(answer)), [to, to, to]);
      const active = await etcdctlGet(etcd.endpoints, `${PREFIX}/services/`);
      assert.equal(JSON.parse(active[`${PREFIX}/services/web/active`]!).color, to);
    }
    const { ok, failed } = await load.stop();
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });

  it("a node cut off from etcd keeps serving, is listed as lagging, drops out at its lease's end, and converges after", async () => {
    const before = await answer(edge2.proxyUrl);
    const to = before === "blue" ? "green" : "blue";
    relay.cut();
    const started = Date.now();
    const res = await api(teal, "POST", "/v1/services/web/switch", { to });
    const took = Date.now() - started;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.lagging.map((n: { node: string }) => n.node),
      ["edge-2"],
    );
    assert.match(res.body.warning, /not yet served by edge-2/);
    assert.ok(took >= 900 && took < 4_000, `returned after the 1 s ack deadline, took ${took} ms`);
    // The rest of the fleet went on; the cut-off node serves what it had.
    assert.deepEqual(await Promise.all(proxies().map(answer)), [to, to, before]);
    assert.deepEqual(await nodesOf(), ["edge-1:in step", "edge-2:lagging", "srv:in step"]);
    const cli = await runCli(["status", "--admin", teal.adminUrl, "--token", teal.token]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      /^ {2}edge-2 {2}(reaches etcd|cut off from etcd \([^)]*\)) {2}revision \d+ {2}\d+ revisions behind/m,
    );
    assert.match(cli.stdout, /^ {2}edge-1 {2}reaches etcd {2}revision \d+ {2}in step/m);
    // Its heartbeat stops: listed as cut off from etcd before its lease ends. Rendered as the CLI
    // does, from the status read then (spawning the CLI can outlast the lease on a busy machine).
    const cutOff = await eventually(async () => {
      const status = (await api(teal, "GET", "/v1/status")).body;
      return (
        (status.nodes as Json[]).some((n) => n.node === "edge-2" && n.storeConnected === false) && status
      );
    }, "edge-2 to be reported cut off");
    const text = renderStatus(cutOff as Parameters<typeof renderStatus>[0]);
    assert.match(text, /^nodes {3}2 of 3 reaching etcd$/m);
    assert.match(
      text,
      /^ {2}edge-2 {2}cut off from etcd \(last seen \d{4}-\d\d-\d\dT[\d:.]+Z\) {2}revision \d+ {2}\d+ revisions behind/m,
    );
    await eventually(
      async () =>
        /^teal_store_connected\{node="edge-2"\} 0$/m.test(
          await (await fetch(`${edge2.adminUrl}/metrics`)).text(),
        ),
      "edge-2 to report it cannot reach etcd",
    );
    // Its lease (15 s) runs out: it leaves the fleet, and switches stop waiting for it.
    await eventually(async () => !(await nodesOf()).includes("edge-2:lagging"), "edge-2 to drop out", 25_000);

    relay.restore();
    await eventually(async () => (await answer(edge2.proxyUrl)) === to, "edge-2 to catch up", 15_000);
    await eventually(
      async () => (await nodesOf()).join() === "edge-1:in step,edge-2:in step,srv:in step",
      "edge-2 to rejoin in step",
      15_000,
    );
    const metrics = await (await fetch(`${edge2.adminUrl}/metrics`)).text();
    assert.match(metrics, /^teal_store_connected\{node="edge-2"\} 1$/m);
  });

  it("switches complete with the etcd leader killed, 0 failed requests, and every node converges", async () => {
    const load = keepAliveLoad(proxies());
    const leader = await etcd.leader();
    await etcd.kill(leader);
    let to = await answer(teal.proxyUrl);
    try {
      for (let i = 0; i < 5; i++) {
        to = to === "blue" ? "green" : "blue";
        const res = await api(teal, "POST", "/v1/services/web/switch", { to });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        // edge-2 dials one member: if that was the leader, it lags until the member is back.
        assert.deepEqual(await Promise.all([teal.proxyUrl, edge1.proxyUrl].map(answer)), [to, to]);
      }
    } finally {
      await etcd.restart(leader);
    }
    const last = to;
    await eventually(async () => (await answer(edge2.proxyUrl)) === last, "edge-2 to converge", 20_000);
    const { ok, failed } = await load.stop();
    assert.equal(failed.length, 0, failed.slice(0, 5).join("; "));
    assert.ok(ok > 30, `load ran: ${ok} requests`);
  });
});
