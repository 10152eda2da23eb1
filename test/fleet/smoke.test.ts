/**
 * Smoke checks on every node of a fleet: three `teal server --node` processes on a 3-member etcd,
 * each running its own instances. Each node's agent runs the service's smoke checks against its
 * own instances of the new color before it reports them healthy (the leader runs them against
 * its own). Node c's instances answer 500 on the smoke check's path (its own runtime env), the
 * others 200: a deployment whose version is healthy everywhere but fails its smoke check on c
 * only fails (quorum all), naming node c and the check, and every node keeps the old version.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { type Json, processServiceConfig, type TealProcess } from "../support/teal-process.ts";
import { deploy as deployOn } from "./deployments.ts";
import { answer } from "./proxy-node.ts";
import { useServerFleet } from "./server-fleet.ts";

const TTL_S = 5;
const DEPLOYMENT = `    deployment:
      timeoutMs: 15000
      scaleDownDelayMs: 0
      drainTimeoutMs: 2000
      smoke: [{ http: { path: /smoke } }]
`;
const fleet = useServerFleet({ prefix: "/smoke", leaseTtlS: TTL_S });

/** `env`: this node's own runtime environment (its teal.yaml), to make one machine misbehave. */
function startNode(node: string, env = ""): Promise<TealProcess> {
  const config = processServiceConfig(DEPLOYMENT).replace(
    "      stopTimeoutMs: 2000\n",
    `      stopTimeoutMs: 2000\n${env ? `      env: { ${env} }\n` : ""}`,
  );
  return fleet.startNode(node, config);
}

const deploy = (teal: TealProcess, body: Json) => deployOn(teal, body, fleet);

const versionAt = async (teal: TealProcess) =>
  JSON.parse(await answer(`${teal.proxyUrl}/`)).version as string;

describe("smoke checks on every node of a fleet", () => {
  it("a version failing its smoke check on one node only fails the deployment, naming the node; every node keeps the old version", async () => {
    const a = await startNode("a");
    const b = await startNode("b");
    const c = await startNode("c", "APP_FAIL_PATH: /smoke");
    // The deployment's env wins over c's own: v1 passes its smoke checks on every node.
    const first = await deploy(a, { version: "v1", env: { APP_FAIL_PATH: "/none" } });
    assert.equal(first.outcome, "succeeded", JSON.stringify(first.events?.slice(-3)));
    const second = await deploy(a, { version: "v2" });
    assert.equal(second.outcome, "failed", JSON.stringify(second.events?.slice(-3)));
    const failure = (second.events as Json[]).find((e) => e.type === "failure")?.message as string;
    assert.match(
      failure,
      /node c: smoke check "GET \/smoke" failed: GET \/smoke on http:\/\/127\.0\.0\.1:\d+: status 500 \(expected 200\)/,
    );
    assert.doesNotMatch(failure, /node b/);
    for (const teal of [a, b, c]) {
      await eventually(async () => (await versionAt(teal)) === "v1", "every node to serve v1");
      for (let i = 0; i < 5; i++) assert.equal(await versionAt(teal), "v1");
    }
    for (const teal of [b, c]) {
      assert.ok(
        teal.logs.some((l) => l.msg === "smoke checks passed on this node" && l.version === "v1"),
        "the node's agent ran the smoke checks on its own instances",
      );
    }
  });
});
