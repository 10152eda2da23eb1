/** Health: the threshold state machine, and the monitor that probes on a clock and feeds it. */

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { healthSchema } from "../../src/config/schema.ts";
import { isTealError } from "../../src/domain/errors.ts";
import {
  type HealthState,
  type HealthStatus,
  INITIAL_HEALTH,
  nextHealth,
  type ProbeOutcome,
} from "../../src/domain/health.ts";
import { HealthMonitor } from "../../src/health/health-monitor.ts";
import type { probe as realProbe } from "../../src/health/probe.ts";
import { ManualClock } from "../support/manual-clock.ts";

const passed = (atMs = 0): ProbeOutcome => ({ ok: true, atMs, latencyMs: 1, status: 200 });
const failed = (atMs = 0): ProbeOutcome => ({
  ok: false,
  atMs,
  latencyMs: 1,
  status: 503,
  reason: "status 503 (expected 200)",
});

describe("health state", () => {
  // Probes as "+" (passed) and "-" (failed); the status expected after each one.
  const cases: {
    name: string;
    healthy: number;
    unhealthy: number;
    probes: string;
    expect: HealthStatus[];
  }[] = [
    {
      name: "an unknown instance becomes healthy after healthyThreshold passes in a row",
      healthy: 2,
      unhealthy: 3,
      probes: "++",
      expect: ["unknown", "healthy"],
    },
    {
      name: "a failure in between starts the passing streak over",
      healthy: 2,
      unhealthy: 3,
      probes: "+-++",
      expect: ["unknown", "unknown", "unknown", "healthy"],
    },
    {
      name: "an unknown instance becomes unhealthy after unhealthyThreshold failures in a row",
      healthy: 2,
      unhealthy: 3,
      probes: "---",
      expect: ["unknown", "unknown", "unhealthy"],
    },
    {
      name: "a healthy instance survives fewer failures than the threshold",
      healthy: 2,
      unhealthy: 3,
      probes: "++--+--",
      expect: ["unknown", "healthy", "healthy", "healthy", "healthy", "healthy", "healthy"],
    },
    {
      name: "a healthy instance becomes unhealthy after unhealthyThreshold failures in a row",
      healthy: 2,
      unhealthy: 3,
      probes: "++---",
      expect: ["unknown", "healthy", "healthy", "healthy", "unhealthy"],
    },
    {
      name: "an unhealthy instance needs healthyThreshold passes to come back",
      healthy: 3,
      unhealthy: 1,
      probes: "-++-+++",
      expect: ["unhealthy", "unhealthy", "unhealthy", "unhealthy", "unhealthy", "unhealthy", "healthy"],
    },
    {
      name: "with thresholds of 1 every probe decides",
      healthy: 1,
      unhealthy: 1,
      probes: "+-+",
      expect: ["healthy", "unhealthy", "healthy"],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const thresholds = { healthyThreshold: c.healthy, unhealthyThreshold: c.unhealthy };
      let state = INITIAL_HEALTH;
      const seen: HealthStatus[] = [];
      for (const p of c.probes) {
        state = nextHealth(state, p === "+" ? passed() : failed(), thresholds);
        seen.push(state.status);
      }
      assert.deepEqual(seen, c.expect);
    });
  }

  it("counts the current streak and keeps the last probe", () => {
    const thresholds = { healthyThreshold: 2, unhealthyThreshold: 3 };
    const afterPasses = nextHealth(nextHealth(INITIAL_HEALTH, passed(1), thresholds), passed(2), thresholds);
    assert.deepEqual(afterPasses, {
      status: "healthy",
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
      lastProbe: passed(2),
    });
    const afterFailure = nextHealth(afterPasses, failed(3), thresholds);
    assert.deepEqual(afterFailure, {
      status: "healthy",
      consecutiveSuccesses: 0,
      consecutiveFailures: 1,
      lastProbe: failed(3),
    });
  });
});

const health = healthSchema.parse({ intervalMs: 1_000, healthyThreshold: 2, unhealthyThreshold: 3 });
const target = { id: "web-green-1-0", url: "http://127.0.0.1:1", expectedVersion: "v2" };

/** A fake probe whose calls the test answers one by one. */
function controlledProbe(clock: ManualClock) {
  const calls: { atMs: number; signal: AbortSignal | undefined; answer: (ok: boolean) => void }[] = [];
  let running = 0;
  let maxRunning = 0;
  const probe: typeof realProbe = (_url, _health, options) =>
    new Promise((resolve) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      calls.push({
        atMs: clock.now(),
        signal: options?.signal,
        answer: (ok) => {
          running--;
          resolve(ok ? passed(clock.now()) : failed(clock.now()));
        },
      });
    });
  return {
    probe,
    calls,
    get maxRunning() {
      return maxRunning;
    },
    /** Answers the latest call and lets the monitor record it. */
    async answer(ok: boolean) {
      calls.at(-1)!.answer(ok);
      await clock.advance(0);
    },
  };
}

/** A fake probe that answers at once from a script (then passes). */
function scriptedProbe(clock: ManualClock, script: string) {
  const callTimes: number[] = [];
  const probe: typeof realProbe = async () => {
    const ok = (script[callTimes.length] ?? "+") === "+";
    callTimes.push(clock.now());
    return ok ? passed(clock.now()) : failed(clock.now());
  };
  return { probe, callTimes };
}

describe("health monitor", () => {
  it("probes at once, then intervalMs after each probe finished", async () => {
    const clock = new ManualClock();
    const start = clock.now();
    const fake = scriptedProbe(clock, "++++");
    const monitor = new HealthMonitor({ clock, probe: fake.probe });
    monitor.watch(target, health);
    assert.deepEqual(fake.callTimes, [start]);
    await clock.advance(0); // lets the first probe finish and the wait begin
    await clock.advance(999);
    assert.equal(fake.callTimes.length, 1);
    await clock.advance(1);
    await clock.advance(2_000);
    assert.deepEqual(fake.callTimes, [start, start + 1_000, start + 2_000, start + 3_000]);
    monitor.stopAll();
  });

  it("never starts a probe while the previous one is still running", async () => {
    const clock = new ManualClock();
    const fake = controlledProbe(clock);
    const monitor = new HealthMonitor({ clock, probe: fake.probe });
    monitor.watch(target, health);
    await clock.advance(10_000);
    assert.equal(fake.calls.length, 1);
    await fake.answer(true);
    await clock.advance(999);
    assert.equal(fake.calls.length, 1);
    await clock.advance(1);
    assert.equal(fake.calls.length, 2);
    assert.equal(fake.calls[1]!.atMs - fake.calls[0]!.atMs, 11_000);
    assert.equal(fake.maxRunning, 1);
    monitor.stopAll();
  });

  it("calls onChange after every probe and turns healthy only after healthyThreshold passes", async () => {
    const clock = new ManualClock();
    const fake = scriptedProbe(clock, "-++");
    const monitor = new HealthMonitor({ clock, probe: fake.probe });
    const watch = monitor.watch(target, health);
    const changes: [HealthStatus, HealthStatus, boolean | undefined][] = [];
    watch.onChange((state, previous) => changes.push([previous.status, state.status, state.lastProbe?.ok]));
    const resolved: HealthState[] = [];
    void watch.untilHealthy().then((state) => resolved.push(state));

    await clock.advance(0);
    assert.deepEqual(changes, [["unknown", "unknown", false]]);
    await clock.advance(1_000);
    assert.equal(resolved.length, 0);
    await clock.advance(1_000);
    assert.deepEqual(changes.slice(1), [
      ["unknown", "unknown", true],
      ["unknown", "healthy", true],
    ]);
    assert.deepEqual(
      resolved.map((state) => state.status),
      ["healthy"],
    );
    assert.equal(watch.state.consecutiveSuccesses, 2);
    monitor.stopAll();
  });

  it("answers untilHealthy at once when already healthy, and rejects it on abort", async () => {
    const clock = new ManualClock();
    const monitor = new HealthMonitor({ clock, probe: scriptedProbe(clock, "++").probe });
    const watch = monitor.watch(target, { ...health, healthyThreshold: 1 });
    await clock.advance(0);
    assert.equal((await watch.untilHealthy()).status, "healthy");

    const slow = new HealthMonitor({ clock, probe: controlledProbe(clock).probe });
    const controller = new AbortController();
    const waiting = slow.watch(target, health).untilHealthy(controller.signal);
    controller.abort(new Error("deadline passed"));
    await assert.rejects(waiting, /deadline passed/);
    monitor.stopAll();
    slow.stopAll();
  });

  it("stop aborts the probe in flight, and no probe or callback follows", async () => {
    const clock = new ManualClock();
    const fake = controlledProbe(clock);
    const monitor = new HealthMonitor({ clock, probe: fake.probe });
    const watch = monitor.watch(target, health);
    let changes = 0;
    watch.onChange(() => changes++);
    const waiting = watch.untilHealthy();

    watch.stop();
    assert.equal(fake.calls[0]!.signal?.aborted, true);
    await assert.rejects(waiting, (err) => isTealError(err, "NOT_HEALTHY"));
    await fake.answer(true);
    await clock.advance(60_000);
    assert.deepEqual([fake.calls.length, changes, clock.pendingCount], [1, 0, 0]);
    assert.equal(watch.state.status, "unknown");
  });

  it("stopAll stops every watch between probes", async () => {
    const clock = new ManualClock();
    const fake = scriptedProbe(clock, "");
    const monitor = new HealthMonitor({ clock, probe: fake.probe });
    monitor.watch(target, health);
    monitor.watch({ ...target, id: "web-green-1-1" }, health);
    await clock.advance(0);
    await clock.advance(1_000);
    assert.equal(fake.callTimes.length, 4);
    monitor.stopAll();
    await clock.advance(60_000);
    assert.deepEqual([fake.callTimes.length, clock.pendingCount], [4, 0]);
  });

  it("sees a real instance go from 503 to healthy", async () => {
    let ready = false;
    const server = createServer((_req, res) => {
      res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ version: "v2" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const monitor = new HealthMonitor();
    const watch = monitor.watch(
      { id: "web-green-1-0", url, expectedVersion: "v2" },
      healthSchema.parse({
        intervalMs: 20,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        versionField: "version",
      }),
    );
    const statuses: HealthStatus[] = [];
    watch.onChange((state, previous) => {
      if (state.status !== previous.status) statuses.push(state.status);
      if (state.status === "unhealthy") ready = true;
    });

    const state = await watch.untilHealthy(AbortSignal.timeout(5_000));
    monitor.stopAll();
    server.close();
    assert.deepEqual(statuses, ["unhealthy", "healthy"]);
    assert.equal(state.lastProbe?.status, 200);
    assert.equal(state.lastProbe?.version, "v2");
  });
});
