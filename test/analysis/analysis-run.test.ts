import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnalysisRun } from "../../src/analysis/analysis-run.ts";
import type { MetricSource } from "../../src/analysis/metric-source.ts";
import { checkSchema } from "../../src/config/schema.ts";
import { judge, type Measurement } from "../../src/domain/analysis.ts";
import { presetSteps, rolloutPlan } from "../../src/domain/strategy.ts";
import { ManualClock } from "../support/manual-clock.ts";

const context = {
  service: "web",
  color: "green",
  stableColor: "blue",
  version: "v2",
  windowMs: 60_000,
} as const;

/** A metric source that answers what the test queues (teal's own port; no I/O behind it). */
function scripted(values: Measurement[]): MetricSource & { calls: number } {
  return {
    calls: 0,
    async measure() {
      this.calls++;
      return values.shift() ?? { value: null, sampleSize: null, error: "no more values" };
    },
  };
}

/** A measurement whose value over the window is also its value over 4 shared seconds. */
const both = (value: number, requests: number, stableValue: number, stableRequests: number) => ({
  value,
  sampleSize: requests,
  shared: {
    slices: 4,
    promoted: false,
    warmingUp: false,
    candidate: { requests, errors: 0, value, perSlice: [] },
    stable: { requests: stableRequests, errors: 0, value: stableValue, perSlice: [] },
  },
});

const errors = (extra: object = {}) =>
  checkSchema.parse({
    name: "errors",
    metric: "errorRate",
    max: 0.05,
    interval: 1000,
    minRequests: 50,
    ...extra,
  });

describe("judging one measurement", () => {
  const t = { max: 0.05, minRequests: 50 };
  it("passes, fails, and is inconclusive on too little traffic", () => {
    assert.equal(judge("errorRate", { value: 0.01, sampleSize: 100 }, t).verdict, "pass");
    assert.deepEqual(judge("errorRate", { value: 0.2, sampleSize: 100 }, t), {
      verdict: "fail",
      reason: "errorRate 0.2 > max 0.05",
    });
    assert.deepEqual(judge("errorRate", { value: 0.9, sampleSize: 3 }, t), {
      verdict: "inconclusive",
      reason: "only 3 requests in the window (need 50)",
    });
  });
  it("compares with the stable color over the seconds both colors served", () => {
    const rel = { maxRatioToStable: 1.5, maxAboveStable: undefined, minRequests: 10 };
    assert.equal(judge("p99", both(30, 20, 25, 20), rel).verdict, "pass");
    assert.deepEqual(judge("p99", both(80, 20, 25, 20), rel), {
      verdict: "fail",
      reason: "p99 80 > 1.5 × stable 25 over the 4 s both served",
    });
    assert.deepEqual(judge("p99", both(80, 20, 25, 2), rel), {
      verdict: "inconclusive",
      reason: "only 2 requests in the 4 s both colors served (need 10 each)",
    });
    const points = { maxAboveStable: 0.01, minRequests: 10 };
    assert.deepEqual(judge("errorRate", both(0.05, 20, 0.02, 20), points), {
      verdict: "fail",
      reason: "errorRate 0.05 > stable 0.02 + 0.01 over the 4 s both served",
    });
  });

  it("passes a ratio's failure within noiseFloor of stable, and names the floor when it fails", () => {
    const floored = { maxRatioToStable: 2, noiseFloor: 20, minRequests: 10 };
    // 21 ms against 7 is 3x stable, but only 14 ms worse: a fast app's noise.
    assert.deepEqual(judge("p99", both(21, 20, 7, 20), floored), {
      verdict: "pass",
      reason: "p99 21 (stable 7) over the 4 s both served",
    });
    assert.deepEqual(judge("p99", both(60, 20, 25, 20), floored), {
      verdict: "fail",
      reason: "p99 60 > 2 × stable 25 and more than 20 above it over the 4 s both served",
    });
    // Above the floor but within the ratio: passes, the floor adds a condition, never a failure.
    assert.equal(judge("p99", both(45, 20, 25, 20), floored).verdict, "pass");
  });

  it("is inconclusive with fewer seconds side by side than minSlices", () => {
    assert.deepEqual(
      judge("p99", both(80, 20, 25, 20), { maxRatioToStable: 2, minSlices: 5, minRequests: 10 }),
      {
        verdict: "inconclusive",
        reason: "only 4 s in which both colors served (need 5)",
      },
    );
  });

  it("is inconclusive without a second in which both colors served, and says why after promotion", () => {
    const rel = { maxRatioToStable: 2, minRequests: 10 };
    const none = { ...both(80, 20, 25, 20), shared: { ...both(80, 20, 25, 20).shared, slices: 0 } };
    assert.deepEqual(judge("p99", none, rel), {
      verdict: "inconclusive",
      reason: "no second in the window in which both colors served",
    });
    const promoted = { ...none, shared: { ...none.shared, promoted: true } };
    assert.match(
      judge("p99", promoted, rel).reason,
      /after full promotion stable serves no traffic: nothing to compare/,
    );
  });
});

describe("an analysis run on the injected clock", () => {
  it("measures every interval and fails past the failure limit", async () => {
    const clock = new ManualClock();
    const source = scripted([
      { value: 0.0, sampleSize: 100 },
      { value: 0.2, sampleSize: 100 },
      { value: 0.2, sampleSize: 100 },
    ]);
    const run = new AnalysisRun({
      checks: [errors({ failureLimit: 1 })],
      context,
      source: () => source,
      clock,
      background: true,
    }).start();
    await clock.advance(999);
    assert.equal(source.calls, 0, "nothing before the first interval");
    await clock.advance(1);
    assert.equal(run.statuses[0]!.tally.passes, 1);
    await clock.advance(1000);
    assert.equal(run.statuses[0]!.tally.result, "running", "one failure is within the limit");
    await clock.advance(1000);
    const outcome = await run.outcome;
    assert.equal(outcome.result, "failed");
    assert.equal(source.calls, 3);
    await clock.advance(10_000);
    assert.equal(source.calls, 3, "no measurement after the end");
  });

  it("ends inconclusive at its deadline when traffic was too low, and passed with enough", async () => {
    const clock = new ManualClock();
    const lowSource = scripted([
      { value: 0, sampleSize: 3 },
      { value: 0, sampleSize: 4 },
    ]);
    const low = new AnalysisRun({
      checks: [errors()],
      context,
      source: () => lowSource,
      clock,
      durationMs: 2500,
    }).start();
    await clock.advance(2500);
    const o = await low.outcome;
    assert.equal(o.result, "inconclusive");
    assert.equal(
      o.result === "inconclusive" && o.checks[0]!.last?.reason,
      "only 4 requests in the window (need 50)",
    );

    const enoughSource = scripted([
      { value: 0, sampleSize: 80 },
      { value: 0.01, sampleSize: 90 },
    ]);
    const enough = new AnalysisRun({
      checks: [errors({ count: 2 })],
      context,
      source: () => enoughSource,
      clock,
    }).start();
    await clock.advance(2000);
    assert.equal((await enough.outcome).result, "passed");
  });

  it("fails after too many consecutive measurement errors", async () => {
    const clock = new ManualClock();
    const empty = scripted([]);
    const run = new AnalysisRun({
      checks: [errors({ consecutiveErrorLimit: 2 })],
      context,
      source: () => empty,
      clock,
      background: true,
    }).start();
    await clock.advance(3000);
    const o = await run.outcome;
    assert.equal(o.result, "failed");
    assert.equal(o.result === "failed" && o.check.last?.reason, "no more values");
  });
});

describe("strategies as steps", () => {
  it("expands the CodeDeploy presets", () => {
    assert.deepEqual(presetSteps("Canary10Percent5Minutes"), [
      { kind: "setWeight", weight: 10 },
      { kind: "pause", durationMs: 300_000 },
    ]);
    const linear = presetSteps("Linear10PercentEvery1Minute");
    assert.equal(linear.length, 18);
    assert.deepEqual(linear.at(-2), { kind: "setWeight", weight: 90 });
    assert.deepEqual(presetSteps("AllAtOnce"), []);
  });
  it("turns manual blue-green promotion into a wait for teal promote", () => {
    assert.deepEqual(rolloutPlan({ blueGreen: { autoPromote: false }, monitor: 0 }).steps, [
      { kind: "pause", durationMs: undefined },
    ]);
  });
});
