import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { api, type Json, processServiceConfig } from "../support/teal-process.ts";
import { useTeal, withAppDelay } from "../support/use-teal.ts";

// Every version answers in ~30 ms, so that latency is the app's, not the machine's noise. The
// analysis step lasts 3 s: a relative check needs a whole second in which both colors served
// (one is enough here: minSlices 1).
const CANARY = `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 20
          - analysis: { duration: 3s }
          - setWeight: 60
          - pause: { duration: 300ms }
      monitor: 1500ms
    analysis:
      window: 2s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 100ms, minRequests: 10 }
        - { name: latency, metric: p50, maxRatioToStable: 2, interval: 200ms, minRequests: 20, failureLimit: 2, minSlices: 1 }`;

describe("progressive delivery with teal's own metrics", () => {
  const teal = useTeal(withAppDelay(processServiceConfig(CANARY)), { firstVersion: "v1" });
  const { cli, history, served } = teal;
  const underLoad = <T>(fn: () => Promise<T>) => teal.underLoad(fn, 32);
  const failedShare = (t: { ok: number; errors: number; non2xx: number }) =>
    (t.errors + t.non2xx) / (t.ok + t.errors + t.non2xx);

  it("takes a good version through every canary step and promotes it", async () => {
    const { result, traffic } = await underLoad(() => cli("deploy", "web", "--version", "v2"));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    for (const line of [
      /step\s+step 1\/4: setWeight 20/,
      /switch\s+20% of traffic on green v2/,
      /step\s+step 2\/4: analysis for 3000 ms/,
      /analysis\s+errors \(step analysis\): PASS errorRate 0/,
      /analysis\s+latency \(step analysis\): PASS p50 \d/,
      /step\s+step 3\/4: setWeight 60/,
      /step\s+step 4\/4: pause 300 ms/,
      /switching\s+full promotion: all traffic to green v2/,
      /monitoring\s+watching v2 for 1500 ms after promotion/,
      /v2 is live on green/,
    ]) {
      assert.match(result.stdout, line);
    }
    assert.equal(traffic.errors + traffic.non2xx, 0);
    assert.equal((await served()).version, "v2");
    const [d] = await history();
    assert.equal(d!.outcome, "succeeded");
    assert.equal(d!.rollout.strategy, "canary");
    assert.ok(d!.rollout.checks.every((c: Json) => c.failures === 0));
  });

  it("rolls back a version that fails 20% of requests in the first step, with < 1% of client requests failing", async (t) => {
    const { result, traffic } = await underLoad(() =>
      cli("deploy", "web", "--version", "v3", "--env", "APP_ERROR_EVERY=5"),
    );
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stdout,
      /analysis "errors" failed: errorRate 0\.\d+ > max 0\.05; all traffic back on green v2 \d+ ms after the failing measurement/,
    );
    assert.doesNotMatch(result.stdout, /step 3\/4/, "it never got past the first steps");
    const share = failedShare(traffic);
    assert.ok(share < 0.01, `${(share * 100).toFixed(2)}% of ${traffic.ok + traffic.non2xx} requests failed`);
    const [d] = await history();
    assert.equal(d!.outcome, "rolled_back");
    assert.equal(d!.rollbackCause, "analysis");
    assert.equal(d!.rolledBackBy, null);
    assert.match(d!.reason, /^analysis "errors" failed: errorRate/);
    const text = await cli("history", "web", "--no-events", "--limit", "1");
    assert.match(text.stdout, new RegExp(`#${d!.seq}\\s+deploy\\s+v3 .*rolled back by teal \\(analysis\\)`));
    assert.match(text.stdout, /reason: analysis "errors" failed/);
    assert.doesNotMatch(text.stdout, /undone/);
    const rollback = d!.events.find((e: Json) => e.type === "rollback");
    assert.equal(rollback.data.check.name, "errors");
    assert.equal(rollback.data.check.thresholds.max, 0.05);
    assert.ok(rollback.data.msToStable < 1000, `back on stable after ${rollback.data.msToStable} ms`);
    t.diagnostic(
      `failing measurement -> all traffic on stable: ${rollback.data.msToStable} ms; clients: ${traffic.ok + traffic.non2xx + traffic.errors} requests, ${traffic.non2xx + traffic.errors} failed (${(share * 100).toFixed(2)}%)`,
    );
    assert.equal((await served()).version, "v2");
  });

  it("rolls back a version 3x slower on the latency check", async () => {
    const { result, traffic } = await underLoad(() =>
      cli("deploy", "web", "--version", "v4", "--env", "APP_DELAY_MS=90"),
    );
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /analysis "latency" failed: p50 \d+(\.\d+)? > 2 × stable \d/);
    assert.equal(traffic.errors + traffic.non2xx, 0);
    assert.equal((await served()).version, "v2");
  });

  it("rolls back a version that starts failing only after full promotion, in the monitoring window", async () => {
    const { result } = await underLoad(() =>
      cli("deploy", "web", "--version", "v5", "--strategy", "blueGreen", "--env", "APP_FAIL_AFTER_MS=1200"),
    );
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /monitoring\s+watching v5/);
    assert.match(
      result.stdout,
      /analysis "errors" failed: errorRate [\d.]+ > max 0\.05; all traffic back on green v2/,
    );
    assert.equal((await served()).version, "v2");
  });

  it("rolls back when the new version crashes mid-canary", async () => {
    const seq = (await api(teal, "POST", "/v1/services/web/deployments", { version: "v6" })).body.deployment
      .seq;
    const url = await eventually(async () => {
      const s = (await api(teal, "GET", "/v1/services/web")).body;
      return s.deployment?.rollout?.weight === 20 && s.colors.blue.instances[0]?.url;
    }, "the canary at 20%");
    await fetch(`${url}/crash`, { method: "POST" }).catch(() => undefined);
    const d = await eventually(async () => {
      const x = (await history()).find((h) => h.seq === seq);
      return x && x.outcome !== "running" && x;
    }, "the rollback");
    assert.equal(d.outcome, "rolled_back");
    assert.equal(d.rollbackCause, "crash");
    assert.match(d.reason, /instance web-blue-\d+-0 of the new version exited with code 1/);
    assert.equal((await served()).version, "v2");
  });
});

describe("progressive delivery under the operator's hand", () => {
  const config = `    deployment: { scaleDownDelayMs: 60000 }
    strategy:
      canary:
        steps:
          - setWeight: 10
          - analysis: { duration: 600ms, checks: [errors] }
          - pause: {}
          - setWeight: 50
          - pause: { duration: 1h }
    analysis:
      window: 1s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 100ms, minRequests: 50 }`;
  const teal = useTeal(processServiceConfig(config), { firstVersion: "v1" });
  const { cli, service, finished } = teal;

  it("low traffic is inconclusive and waits; promote goes on, --full skips the rest", async () => {
    const seq = (await api(teal, "POST", "/v1/services/web/deployments", { version: "v2" })).body.deployment
      .seq;
    const waiting = await eventually(async () => {
      const r = (await service()).deployment?.rollout;
      return r?.waiting?.includes("inconclusive") && r;
    }, "the inconclusive wait");
    assert.equal(waiting.step, 2);
    assert.equal(waiting.weight, 10);
    assert.equal(waiting.checks[0].last.verdict, "inconclusive");
    assert.match(waiting.checks[0].last.reason, /only \d+ requests in the window \(need 50\)/);
    const status = await cli("status");
    assert.match(
      status.stdout,
      /rollout canary, step 2\/5: analysis for 600 ms \(errors\), 10% on green, waiting for teal promote or teal abort/,
    );
    assert.match(status.stdout, /check\s+errors \(errorRate\): inconclusive only \d+ requests/);

    assert.equal((await cli("promote", "web")).code, 0);
    await eventually(
      async () => (await service()).deployment?.rollout?.step === 3,
      "step 3 (pause until promote)",
    );
    const paused = await cli("pause", "web", "--rollout");
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal((await service()).deployment.rollout.paused, true);
    assert.equal((await cli("promote", "web", "--full")).code, 0);
    const d = await finished(seq);
    assert.equal(d.outcome, "succeeded");
    assert.equal((await service()).routing.live, "green");
    assert.ok(d.events.some((e: Json) => e.type === "promote" && /remaining steps skipped/.test(e.message)));
  });

  it("teal abort rolls back at once", async () => {
    const seq = (await api(teal, "POST", "/v1/services/web/deployments", { version: "v3" })).body.deployment
      .seq;
    await eventually(async () => (await service()).deployment?.rollout?.weight === 10, "the canary at 10%");
    const r = await cli("abort", "web");
    assert.equal(r.code, 0, r.stderr);
    const d = await finished(seq);
    assert.equal(d.outcome, "rolled_back");
    assert.equal(d.rollbackCause, "abort");
    assert.match(d.reason, /aborted by cli/);
    const json = JSON.parse((await cli("history", "web", "--json", "--limit", "1")).stdout);
    assert.equal(json.deployments[0].rollbackCause, "abort");
    const s = await service();
    assert.equal(s.routing.live, "green");
    assert.equal(s.weights.blue, 0);
    const none = await cli("abort", "web");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no deployment of web is running/);
  });
});

describe("blue-green with manual promotion", () => {
  const teal = useTeal(
    processServiceConfig(
      "    strategy: { blueGreen: { autoPromote: false } }\n    deployment: { scaleDownDelayMs: 60000 }",
    ),
  );

  it("keeps the new color reachable only through the override header until teal promote", async () => {
    assert.equal((await teal.cli("deploy", "web", "--version", "v1")).code, 0);
    const seq = (await api(teal, "POST", "/v1/services/web/deployments", { version: "v2" })).body.deployment
      .seq;
    await eventually(
      async () =>
        (await api(teal, "GET", "/v1/services/web")).body.deployment?.rollout?.waiting === "teal promote",
      "the wait for promotion",
    );
    const plain = JSON.parse((await get(`${teal.proxyUrl}/`)).body) as Json;
    const pinned = JSON.parse((await get(`${teal.proxyUrl}/`, { "x-teal-color": "green" })).body) as Json;
    assert.equal(plain.version, "v1", "users stay on the released version");
    assert.equal(pinned.version, "v2", "testers reach the new one with the override header");
    assert.equal((await teal.cli("promote", "web")).code, 0);
    const d = await eventually(async () => {
      const x = ((await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[]).find(
        (h) => h.seq === seq,
      );
      return x && x.outcome !== "running" && x;
    }, "the promotion");
    assert.equal(d.outcome, "succeeded");
    assert.equal((JSON.parse((await get(`${teal.proxyUrl}/`)).body) as Json).version, "v2");
  });
});

describe("sticky canary", () => {
  const config = `    sticky: { header: x-user }
    deployment: { scaleDownDelayMs: 60000 }
    strategy:
      canary:
        steps: [{ setWeight: 0 }, { pause: {} }, { setWeight: 30 }, { pause: {} }]`;
  const teal = useTeal(processServiceConfig(config));
  const versionFor = async (headers: Record<string, string>) =>
    (JSON.parse((await get(`${teal.proxyUrl}/`, headers)).body) as Json).version as string;
  const step = async () => (await api(teal, "GET", "/v1/services/web")).body.deployment?.rollout;

  it("keeps each user on one color during a canary, and the override header pins testers at 0%", async () => {
    assert.equal((await teal.cli("deploy", "web", "--version", "v1")).code, 0);
    await api(teal, "POST", "/v1/services/web/deployments", { version: "v2" });
    await eventually(async () => (await step())?.step === 2, "the canary at 0%");
    assert.equal(await versionFor({ "x-user": "alice" }), "v1");
    assert.equal(await versionFor({ "x-teal-color": "green" }), "v2", "a tester reaches v2 at 0%");

    assert.equal((await teal.cli("promote", "web")).code, 0);
    await eventually(async () => (await step())?.step === 4, "the canary at 30%");
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const first = new Map<string, string>();
    for (const u of users) first.set(u, await versionFor({ "x-user": u }));
    for (const u of users)
      assert.equal(await versionFor({ "x-user": u }), first.get(u), `${u} stays on one color`);
    const onCanary = [...first.values()].filter((v) => v === "v2").length;
    assert.ok(onCanary > 30 && onCanary < 90, `${onCanary} of 200 users on the 30% canary`);
  });
});
