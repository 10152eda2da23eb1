/**
 * Two `teal server --node` processes on one etcd prefix, each with its own proxy: a switch made
 * through one server's API is in force in both proxies when the call returns (the other server
 * follows the routing record and acknowledges it), in both directions.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import {
  api,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";
import { answer } from "./proxy-node.ts";

let etcd: EtcdCluster;
let blue: Backend;
let green: Backend;
let a: TealProcess;
let b: TealProcess;
const cleanup: Array<() => Promise<unknown>> = [];

const hosts = (endpoints: readonly string[]) => endpoints.map((e) => new URL(e).host).join(",");

before(async () => {
  [etcd, blue, green] = await Promise.all([
    startEtcd({ members: 1 }),
    startBackend("blue"),
    startBackend("green"),
  ]);
  const dirs = await Promise.all([tempDir(), tempDir()]);
  cleanup.push(() => Promise.all(dirs.map((d) => d.remove())));
  const args = (node: string) => [
    "--store",
    `etcd://${hosts(etcd.endpoints)}`,
    "--store-prefix",
    "/servers",
    "--node",
    node,
  ];
  a = await startTeal(webServiceConfig(blue, green), dirs[0]!.path, { serverArgs: args("a") });
  cleanup.push(() => a.stop());
  b = await startTeal(webServiceConfig(blue, green), dirs[1]!.path, { serverArgs: args("b") });
  cleanup.push(() => b.stop());
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await Promise.all([etcd?.stop(), blue?.close(), green?.close()]);
});

describe("server nodes on one prefix follow each other", () => {
  it("a switch through one server is in force in both servers' proxies when the call returns", async () => {
    for (const to of ["green", "blue", "green"]) {
      const res = await api(a, "POST", "/v1/services/web/switch", { to });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.lagging, []);
      assert.deepEqual(await Promise.all([a.proxyUrl, b.proxyUrl].map(answer)), [to, to]);
      // The other server's own view of the routing moved too, not only its proxy.
      const status = await api(b, "GET", "/v1/services/web");
      assert.equal(status.body.routing.live, to);
    }
  });

  it("exactly one leads: the other refuses commands with 409 NOT_LEADER naming the leader and its admin URL", async () => {
    for (const server of [a, b]) {
      const status = (await api(server, "GET", "/v1/status")).body;
      assert.deepEqual(status.leader, { node: "a", admin: a.adminUrl });
      assert.deepEqual(
        status.nodes.map((n: { node: string; leader: boolean }) => `${n.node}:${n.leader}`),
        ["a:true", "b:false"],
      );
    }
    const live = (await api(a, "GET", "/v1/services/web")).body.routing.live;
    const to = live === "blue" ? "green" : "blue";
    for (const [method, path, body] of [
      ["POST", "/v1/services/web/switch", { to }],
      ["POST", "/v1/services/web/split", { green: 10 }],
      ["POST", "/v1/services/web/pause", undefined],
    ] as const) {
      const res = await api(b, method, path, body);
      assert.equal(res.status, 409, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "NOT_LEADER");
      assert.deepEqual(res.body.error.details, { leader: "a", admin: a.adminUrl });
      assert.ok(res.body.error.message.includes(`node a leads`), res.body.error.message);
      assert.ok(res.body.error.message.includes(a.adminUrl), res.body.error.message);
    }
    // Refused means nothing changed anywhere.
    assert.deepEqual(await Promise.all([a.proxyUrl, b.proxyUrl].map(answer)), [live, live]);

    const cli = await runCli(["switch", "web", "--to", to, "--admin", b.adminUrl, "--token", b.token]);
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /node a leads and takes commands that change state/);
    assert.ok(cli.stderr.includes(`--admin ${a.adminUrl}`), cli.stderr);
    assert.match(cli.stderr, /\[NOT_LEADER\]/);
    assert.doesNotMatch(cli.stderr, /\bat .*\.ts:\d+/, "no stack trace");

    const status = await runCli(["status", "--admin", b.adminUrl, "--token", b.token]);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.stdout.includes(`leader  a  admin ${a.adminUrl}`), status.stdout);
    assert.match(status.stdout, /^ {2}a {2}leader {2}reaches etcd {2}revision \d+/m);
  });

  it("a leader that stops steps down: the other server leads at once, not after the lease TTL, and says why", async () => {
    const stoppedAt = Date.now();
    assert.equal(await a.stop(), 0);
    await eventually(async () => (await api(b, "GET", "/v1/status")).body.leader?.node === "b", "b to lead");
    const tookMs = Date.now() - stoppedAt;
    // The default TTL is 5 s: a takeover this fast came from the revoked lease, not its expiry.
    assert.ok(tookMs < 4_000, `b led ${tookMs} ms after a's stop`);
    assert.ok(
      b.logs.some((l) => l.msg === "node b took over from node a: a stepped down"),
      JSON.stringify(b.logs.map((l) => l.msg)),
    );
    const res = await api(b, "POST", "/v1/services/web/switch", { to: "blue" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await answer(b.proxyUrl), "blue");
  });
});
