/**
 * A node cut off from etcd while etcd compacts the history its watches would resume from: three
 * `teal server --node` processes on a 3-member etcd, node c dialing one member through a TCP relay
 * the test owns. While c is cut off, a blue-green deployment starts (the leader writes c's task to
 * run the new version) and etcd is compacted past everything c has seen. When the relay is
 * restored, etcd ends c's watches (their history is gone); c reloads each prefix (its tasks, the
 * routing, the nodes, the instance reports, the leader key) and goes on: it starts the new version
 * from its task, the deployment completes on every node, and c's proxy serves the new version.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { eventually } from "../support/eventually.ts";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.ts";
import { processServiceConfig, type TealProcess } from "../support/teal-process.ts";
import { deploymentEnded, startDeploy } from "./deployments.ts";
import { answer, etcdctlGet } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

const PREFIX = "/compaction";
// Long enough that c stays in the fleet while it is cut off (its client re-dials with back-off
// after the relay is restored, seconds on a busy machine): the deployment waits for it.
const TTL_S = 20;
const CONFIG = processServiceConfig(
  "    deployment: { timeoutMs: 40000, scaleDownDelayMs: 0, drainTimeoutMs: 2000 }\n",
);
const fleet = useServerFleet({ prefix: PREFIX, leaseTtlS: TTL_S });

const etcdctl = (endpoints: readonly string[], ...args: string[]) =>
  promisify(execFile)("etcdctl", [`--endpoints=${endpoints.join(",")}`, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
  });

const ended = (teal: TealProcess, seq: number) => deploymentEnded(teal, seq, fleet);

describe("a node whose watches etcd compacted while it was cut off", () => {
  let relay: TcpRelay | undefined;

  it("reloads its tasks and the routing when it is back: the deployment completes on every node", async (t) => {
    t.after(() => relay?.close());
    const etcd = fleet.etcd();
    const first = new URL(etcd.endpoints[0] as string);
    relay = await startTcpRelay({ host: first.hostname, port: Number(first.port) });
    const a = await fleet.startNode("a", CONFIG);
    const b = await fleet.startNode("b", CONFIG);
    const c = await fleet.startNode("c", CONFIG, undefined, relay.address);
    const v1 = await ended(a, await startDeploy(a, { version: "v1" }));
    assert.equal(v1.outcome, "succeeded", JSON.stringify(v1.events?.slice(-3)));
    for (const teal of [a, b, c]) {
      await eventually(
        async () => JSON.parse(await answer(`${teal.proxyUrl}/`)).version === "v1",
        "every node to serve v1",
      );
    }

    relay.cut();
    const seq = await startDeploy(a, { version: "v2", strategy: "blueGreen" });
    // The leader has written c's task while c cannot see it.
    await eventually(
      async () =>
        Object.values(await etcdctlGet(etcd.endpoints, `${PREFIX}/tasks/c/`)).some((task) =>
          task.includes('"v2"'),
        ),
      "the leader to write c's task for v2",
    );
    // Past everything c has seen: c's watches cannot resume, etcd ends them when c is back.
    const { stdout } = await etcdctl(etcd.endpoints, "put", `${PREFIX}-marker`, "x", "-w", "json");
    const revision = (JSON.parse(stdout) as { header: { revision: number } }).header.revision;
    await etcdctl(etcd.endpoints, "compact", String(revision), "--physical");
    relay.restore();

    const d = await ended(a, seq);
    assert.equal(d.outcome, "succeeded", JSON.stringify(d.events?.slice(-4)));
    for (const teal of [a, b, c]) {
      await eventually(
        async () => JSON.parse(await answer(`${teal.proxyUrl}/`)).version === "v2",
        "every node to serve v2",
      );
    }
    const reloaded = c.logs.map((entry) => entry.msg).filter((m) => /ended the watch/.test(String(m)));
    assert.ok(
      reloaded.includes("the store ended the watch on tasks/c/: reloading it") &&
        reloaded.includes("the store ended the watch on routing/: reloading it"),
      reloaded.join("\n"),
    );
  });
});
