import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judge } from "../../src/domain/analysis.ts";
import { bucketIndex, emptyCounts } from "../../src/domain/latency-histogram.ts";
import { type ColorSlice, type Slice, sharedSample } from "../../src/domain/slices.ts";

/** One color's requests in a slice: all 200s, with these latencies. */
function traffic(latenciesMs: number[]): ColorSlice {
  const latencyBuckets = emptyCounts();
  for (const ms of latenciesMs) latencyBuckets[bucketIndex(ms)]!++;
  return { byClass: [0, 0, latenciesMs.length, 0, 0, 0], latencyBuckets };
}

const times = (n: number, ms: number) => new Array<number>(n).fill(ms);

/**
 * A second at 20%: stable serves 24 requests, one of them slow when `slow` (a tail of 1 in 24
 * requests or fewer); the new version serves 6, every one twice as slow as stable's typical request.
 */
function secondAt20(i: number, slow = true): Slice {
  return {
    startMs: i * 1000,
    endMs: (i + 1) * 1000,
    candidate: traffic(times(6, 20)),
    stable: traffic(slow ? [...times(23, 10), 40] : times(24, 10)),
  };
}

const state = { promoted: false, warmingUp: false };

describe("shared slices: latency quantiles of colors with unequal traffic", () => {
  it("fails maxRatioToStable for a version twice as slow, though stable's plain p99 holds its rare slow requests", () => {
    // stable's slow requests: 2 of 120 (its p99 is 40 ms, a level 30 requests cannot resolve)
    const slices = [0, 1, 2, 3, 4].map((i) => secondAt20(i, i % 2 === 1));
    const shared = sharedSample(slices, "p99", false, state);
    const j = judge("p99", { value: 20, sampleSize: 30, shared }, { maxRatioToStable: 1.5, minRequests: 20 });
    assert.equal(j.verdict, "fail", j.reason);
    assert.match(j.reason, /^p99 2\d\.?\d* > 1\.5 × stable 1\d\.?\d* over the 5 s both served$/);
  });

  it("fails compare for a version twice as slow, second by second", () => {
    const slices = [0, 1, 2, 3, 4, 5, 6].map((i) => secondAt20(i));
    const shared = sharedSample(slices, "p99", false, state);
    const j = judge(
      "p99",
      { value: 20, sampleSize: 42, shared },
      { compare: { confidence: 0.95, tolerance: 0.1 }, minRequests: 20 },
    );
    assert.equal(j.verdict, "fail", j.reason);
    assert.ok(j.comparison!.effect > 1.5, `effect ${j.comparison!.effect}`);
  });

  it("reads equal traffic at the plain quantile", () => {
    const slice: Slice = {
      startMs: 0,
      endMs: 1000,
      candidate: traffic([...times(98, 10), 40, 40]),
      stable: traffic([...times(98, 10), 40, 40]),
    };
    const shared = sharedSample([slice], "p99", false, state);
    assert.equal(shared.candidate.value, shared.stable.value);
    assert.ok(shared.stable.value! > 30, `p99 ${shared.stable.value}`);
  });

  it("passes an identical version served at 20%", () => {
    const same: Slice = {
      startMs: 0,
      endMs: 1000,
      candidate: traffic([...times(5, 10), 40]),
      stable: traffic([...times(20, 10), ...times(4, 40)]),
    };
    const shared = sharedSample([same, same, same], "p99", false, state);
    const j = judge("p99", { value: 40, sampleSize: 18, shared }, { maxRatioToStable: 1.5, minRequests: 10 });
    assert.equal(j.verdict, "pass", j.reason);
  });
});
