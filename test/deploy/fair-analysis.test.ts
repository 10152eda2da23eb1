import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { history as historyOf, underLoad as underLoadOf } from "../support/deployments.ts";
import {
  type Json,
  processServiceConfig,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
} from "../support/teal-process.ts";

// The setting: a fast app (its p99 is the machine's noise), a few keep-alive clients, a
// relative p99 check, a canary, and monitoring after full promotion. A freshly started instance is
// slower for its first seconds (measured here: p50 2-3x for ~8 s on a busy 2-core machine), so
// relative checks leave those out (warmup).
const CANARY = `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 50
          - pause: { duration: 7s }
      monitor: 2500ms
    analysis:
      window: 2s
      warmup: 5s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 100ms, minRequests: 20 }
        - { name: latency, metric: p99, maxRatioToStable: 2, interval: 100ms, minRequests: 20 }`;

describe("relative checks after full promotion (fast app, 4 keep-alive clients)", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dir.path]);

  before(async () => {
    dir = await tempDir();
    teal = await startTeal(processServiceConfig(CANARY), dir.path);
    const first = await cli("deploy", "web", "--version", "v1");
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await teal.stop();
    await dir.remove();
  });

  it("promotes every version identical to the live one, the relative check inconclusive once stable has no traffic", async (t) => {
    const rolledBack: string[] = [];
    const versions = 5;
    for (let i = 2; i < 2 + versions; i++) {
      const { result } = await underLoadOf(teal, () => cli("deploy", "web", "--version", `v${i}`), 4);
      if (result.code !== 0) rolledBack.push(`v${i}: ${(await historyOf(teal))[0]!.reason}`);
    }
    t.diagnostic(`rolled back ${rolledBack.length} of ${versions}: ${rolledBack.join("; ")}`);
    assert.deepEqual(rolledBack, []);
    for (const d of (await historyOf(teal)).slice(0, versions)) {
      const latency = d.rollout.checks.find((c: Json) => c.name === "latency");
      assert.equal(latency.failures, 0);
      assert.ok(latency.passes > 0, "it compared the colors side by side during the canary");
      assert.match(latency.last.reason, /stable has had no traffic since full promotion/);
    }
  });
});
