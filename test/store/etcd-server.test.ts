/**
 * A real `teal server --store etcd://…` against a real etcd: deployments publish the live color at
 * `<prefix>/services/<name>/active` (read with etcdctl, as other tools would), state survives a
 * teal restart, and bad --store values exit 2 with a message naming the option.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { deploy, finished, history, served } from "../support/deployments.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { processServiceConfig, runCli, startTeal, tempDir } from "../support/teal-process.ts";

let etcd: EtcdCluster;

before(async () => {
  etcd = await startEtcd({ members: 1 });
});

after(async () => {
  await etcd?.stop();
});

/** `etcdctl get --prefix` as a map of key to value, the way an operator would read it. */
async function etcdctlGet(prefix: string): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(
    "etcdctl",
    [`--endpoints=${etcd.endpoints.join(",")}`, "get", "--prefix", prefix, "-w", "json"],
    { env: { ...process.env, ETCDCTL_API: "3" } },
  );
  const body = JSON.parse(stdout) as { kvs?: Array<{ key: string; value: string }> };
  const decode = (b64: string) => Buffer.from(b64, "base64").toString();
  return Object.fromEntries((body.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}

describe("teal server on etcd", () => {
  it("publishes the active color at <prefix>/services/<name>/active on every switch and keeps its state across a restart", async () => {
    const dir = await tempDir();
    const host = new URL(etcd.endpoints[0] as string).host;
    const serverArgs = ["--store", `etcd://${host}`, "--store-prefix", "/shop"];
    const config = processServiceConfig("    deployment: { scaleDownDelayMs: 60000 }");
    let teal = await startTeal(config, dir.path, { serverArgs });
    try {
      const active = async () => etcdctlGet("/shop/services/");
      await finished(teal, await deploy(teal, "v1"));
      const first = await served(teal);
      // A first version goes live without a switch; teal publishes it as the deployment ends.
      const published = JSON.stringify({ color: first.color, version: "v1" });
      await eventually(
        async () => (await active())["/shop/services/web/active"] === published,
        "the first version to be published",
      );
      assert.deepEqual(await active(), { "/shop/services/web/active": published });

      await finished(teal, await deploy(teal, "v2"));
      const second = await served(teal);
      assert.notEqual(second.color, first.color);
      assert.deepEqual(await active(), {
        "/shop/services/web/active": JSON.stringify({ color: second.color, version: "v2" }),
      });

      await teal.kill9();
      teal = await startTeal(config, dir.path, { serverArgs });
      assert.equal((await served(teal)).version, "v2");
      assert.deepEqual(
        (await history(teal)).map((d) => [d.version, d.outcome]),
        [
          ["v2", "succeeded"],
          ["v1", "succeeded"],
        ],
      );
      // The state is in etcd, not in a database beside it.
      assert.equal(existsSync(join(dir.path, "teal.db")), false);

      const rollback = await runCli(["rollback", "web", "--data-dir", dir.path]);
      assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
      assert.equal((await served(teal)).version, "v1");
      assert.deepEqual(await active(), {
        "/shop/services/web/active": JSON.stringify({ color: first.color, version: "v1" }),
      });
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("refuses a bad --store or --store-prefix with exit 2 and a message naming it", async () => {
    const dir = await tempDir();
    try {
      const cases: Array<[string[], RegExp]> = [
        [
          ["--store", "etcd://"],
          /--store etcd:\/\/: "" is not HOST:PORT; expected sqlite, or etcd:\/\/HOST:PORT/,
        ],
        [["--store", "etcd://h1:2379,h2"], /--store etcd:\/\/h1:2379,h2: "h2" is not HOST:PORT/],
        [["--store", "etcd://h1:99999"], /"h1:99999" is not HOST:PORT/],
        [
          ["--store", "postgres://db"],
          /--store postgres:\/\/db: unknown store; expected sqlite, or etcd:\/\//,
        ],
        [
          ["--store", "etcd://h1:2379", "--store-prefix", "teal"],
          /--store-prefix "teal": must start with \//,
        ],
        [["--store-prefix", "/teal"], /--store-prefix \/teal: only an etcd store has a prefix/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(["server", "--data-dir", dir.path, ...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      }
    } finally {
      await dir.remove();
    }
  });

  it("exits 1 naming the endpoints when etcd cannot be reached", async () => {
    const dir = await tempDir();
    try {
      const r = await runCli([
        "server",
        "--config",
        await writeConfig(dir.path),
        "--data-dir",
        dir.path,
        "--store",
        "etcd://127.0.0.1:1",
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /etcd at http:\/\/127\.0\.0\.1:1 cannot be reached/);
      assert.match(r.stderr, /\[STORE_UNAVAILABLE\]/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    } finally {
      await dir.remove();
    }
  });
});

async function writeConfig(dir: string): Promise<string> {
  const { writeFile } = await import("node:fs/promises");
  const path = join(dir, "teal.yaml");
  await writeFile(path, processServiceConfig());
  return path;
}
