/**
 * `teal proxy` nodes on a real 3-member etcd cluster, fed by a real `teal server` on the same
 * store: each node loads the routing before it listens, follows every switch, and publishes the
 * revision it serves at `<prefix>/nodes/<name>` under a lease (gone when the node stops). Bad
 * node flags exit 2 with a message naming the flag.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
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
import { answer, etcdctlGet, type ProxyNode, startProxyNode } from "./proxy-node.ts";

let etcd: EtcdCluster;
let blue: Backend;
let green: Backend;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  [etcd, blue, green] = await Promise.all([
    startEtcd({ members: 3 }),
    startBackend("blue"),
    startBackend("green"),
  ]);
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  await Promise.all([etcd?.stop(), blue?.close(), green?.close()]);
});

const storeUrl = () => `etcd://${etcd.endpoints.map((e) => new URL(e).host).join(",")}`;

async function server(prefix: string): Promise<TealProcess> {
  const dir = await tempDir();
  const teal = await startTeal(webServiceConfig(blue, green), dir.path, {
    serverArgs: ["--store", storeUrl(), "--store-prefix", prefix],
  });
  cleanup.push(async () => {
    await teal.stop();
    await dir.remove();
  });
  return teal;
}

async function node(prefix: string, name: string, extra: readonly string[] = []): Promise<ProxyNode> {
  const dir = await tempDir();
  const args = ["--store", storeUrl(), "--store-prefix", prefix, "--node", name, ...extra];
  const started = await startProxyNode(webServiceConfig(blue, green), dir.path, args);
  cleanup.push(async () => {
    await started.stop();
    await dir.remove();
  });
  return started;
}

describe("teal proxy: a data-plane-only node on etcd", () => {
  it("starts on the stored routing, follows each switch, and publishes the revision it serves under a lease", async () => {
    const prefix = "/follow";
    const teal = await server(prefix);
    const switched = await api(teal, "POST", "/v1/services/web/switch", { to: "green" });
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    // Started after the switch: the first request already sees green.
    const edge = await node(prefix, "edge-1");
    assert.equal(await answer(edge.proxyUrl), "green");

    const nodeRecord = async () => {
      const value = (await etcdctlGet(etcd.endpoints, `${prefix}/nodes/`))[`${prefix}/nodes/edge-1`];
      return value === undefined ? undefined : (JSON.parse(value) as { revision: number; version: string });
    };
    const routingRevision = async () => {
      const { stdout } = await promisify(execFile)(
        "etcdctl",
        [`--endpoints=${etcd.endpoints.join(",")}`, "get", `${prefix}/routing/web`, "-w", "json"],
        { env: { ...process.env, ETCDCTL_API: "3" } },
      );
      return Number((JSON.parse(stdout) as { kvs: Array<{ mod_revision: number }> }).kvs[0]!.mod_revision);
    };
    const first = await nodeRecord();
    assert.ok(first !== undefined && first.revision >= (await routingRevision()), JSON.stringify(first));
    assert.equal(first.version, "0.1.0");

    for (const to of ["blue", "green", "blue"]) {
      const res = await api(teal, "POST", "/v1/services/web/switch", { to });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await eventually(async () => (await answer(edge.proxyUrl)) === to, `edge-1 to serve ${to}`).catch(
        (e) => {
          console.log(JSON.stringify(edge.logs.slice(-3), null, 1), edge.stderr());
          throw e;
        },
      );
      const written = await routingRevision();
      await eventually(
        async () => ((await nodeRecord())?.revision ?? 0) >= written,
        `edge-1 to publish ${written}`,
      );
    }
    const metrics = await (await fetch(`${edge.adminUrl}/metrics`)).text();
    assert.match(metrics, /^teal_store_connected\{node="edge-1"\} 1$/m);
    assert.match(
      metrics,
      new RegExp(`^teal_routing_revision\\{node="edge-1"\\} ${await routingRevision()}$`, "m"),
    );

    // A stopped node revokes its lease: it leaves the fleet at once, not after the TTL.
    assert.equal(await edge.stop(), 0);
    assert.equal(await nodeRecord(), undefined);
  });

  it("refuses a bad --node, --lease-ttl or a store that is not etcd, naming the flag (exit 2)", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--store", "etcd://127.0.0.1:1"], /--node: a node on a shared store needs a name/],
      [["--store", "etcd://127.0.0.1:1", "--node", "edge 1"], /--node "edge 1": use 1 to 63 letters/],
      [["--store", "etcd://127.0.0.1:1", "--node", "../x"], /--node "..\/x"/],
      [
        ["--store", "etcd://127.0.0.1:1", "--node", "e", "--lease-ttl", "0.5"],
        /--lease-ttl 0.5: expected whole seconds/,
      ],
      [["--node", "e"], /--store: a proxy node follows a shared store/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(["proxy", ...args]);
      assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    }
  });
});
