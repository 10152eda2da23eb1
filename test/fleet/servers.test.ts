/**
 * Two `teal server --node` processes on one etcd prefix, each with its own proxy: a switch made
 * through one server's API is in force in both proxies when the call returns (the other server
 * follows the routing record and acknowledges it), in both directions.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { api, startTeal, type TealProcess, tempDir, webServiceConfig } from "../support/teal-process.ts";
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
});
