import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../src/config/schema.ts";
import { judge, type Measurement } from "../../src/domain/analysis.ts";
import { bucketIndex, emptyCounts } from "../../src/domain/latency-histogram.ts";
import { type ColorSlice, type Slice, sharedSample } from "../../src/domain/slices.ts";

/** Both colors' pooled counts (error rate: compare judges them pooled). */
function shared(counts: {
  requests: number;
  errors: number;
  stableRequests: number;
  stableErrors: number;
}): Measurement {
  return {
    value: 0,
    sampleSize: counts.requests,
    shared: {
      slices: 1,
      promoted: false,
      warmingUp: false,
      candidate: { requests: counts.requests, errors: counts.errors, value: null },
      stable: { requests: counts.stableRequests, errors: counts.stableErrors, value: null },
    },
  };
}

/** Latencies (ms) of one color in one second, as the proxy counts them. */
function traffic(latencies: readonly number[]): ColorSlice {
  const latencyBuckets = emptyCounts();
  for (const ms of latencies) latencyBuckets[bucketIndex(ms)]! += 1;
  return { byClass: [0, 0, latencies.length, 0, 0, 0], latencyBuckets };
}

/** A deterministic stream of uniform numbers in [0, 1) (a fixed seed: the same figures every run). */
function uniform(seed: number): () => number {
  let a = seed >>> 0; // mulberry32
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seconds of an app that answers in 10 ms, plus the host's noise (exponential, mean 2 ms, and a
 * stall of 50-150 ms for `stalls` of requests, 1%); the canary gets `share` of `perSecond` requests and
 * takes `factor` times as long in the app, or in all (`tail`: its own tail is slower too).
 */
function seconds(
  n: number,
  o: { factor: number; tail?: boolean; stalls?: number; share?: number; perSecond?: number; seed?: number },
): Slice[] {
  const next = uniform(o.seed ?? 7);
  const noise = () => -2 * Math.log(1 - next()) + (next() < (o.stalls ?? 0.01) ? 50 + 100 * next() : 0);
  const latency = (factor: number) => (o.tail ? factor * (10 + noise()) : 10 * factor + noise());
  const perSecond = o.perSecond ?? 400;
  const canary = Math.round(perSecond * (o.share ?? 0.2));
  return Array.from({ length: n }, (_, i) => ({
    startMs: i * 1000,
    endMs: (i + 1) * 1000,
    candidate: traffic(Array.from({ length: canary }, () => latency(o.factor))),
    stable: traffic(Array.from({ length: perSecond - canary }, () => latency(1))),
  }));
}

const latency = { compare: { confidence: 0.99, tolerance: 0.1 }, minRequests: 20, minSlices: 3 };
const errors = { compare: { confidence: 0.95, tolerance: 0.01 }, minRequests: 20 };

function measured(slices: Slice[], metric: "p50" | "p99", tolerance = 0.1): Measurement {
  const s = sharedSample(slices, metric, false, { promoted: false, warmingUp: false }, tolerance);
  return { value: s.candidate.value, sampleSize: s.candidate.requests, shared: s };
}

describe("compare: latency, second by second, by van Elteren's rank test on the tail", () => {
  it("passes versions as fast as stable, at p50 always and at p99 as often as the confidence says", () => {
    // One measurement is one test: at 99% confidence about 1 in 100 identical versions fails it by
    // chance (hence failureLimit, and the README's advice); the tolerance keeps it below that.
    const fails = { p50: 0, p99: 0 };
    for (let seed = 1; seed <= 200; seed++) {
      for (const metric of ["p50", "p99"] as const) {
        const j = judge(metric, measured(seconds(8, { factor: 1, seed }), metric), latency);
        assert.notEqual(j.verdict, "inconclusive", j.reason);
        assert.equal(j.comparison?.test, "van-elteren");
        if (j.verdict === "fail") fails[metric] += 1;
      }
    }
    assert.equal(fails.p50, 0);
    assert.ok(fails.p99 <= 3, `${fails.p99} of 200 identical versions failed at p99`);
    const j = judge("p50", measured(seconds(8, { factor: 1 }), "p50"), latency);
    assert.equal(j.comparison?.slices, 8);
    assert.equal(
      j.reason,
      "p50 11.7 vs stable 11.7 over 8 s side by side: ×1 (tolerance ×1.1); 29% of its requests over 12.9 ms vs 50% of stable's over 11.7 ms, p 1",
    );
  });

  it("fails a version twice as slow at p50, and at p99 when its own tail (3% of requests) is slower", () => {
    for (const [metric, tail] of [
      ["p50", false],
      ["p99", true],
    ] as const) {
      const j = judge(
        metric,
        measured(seconds(8, { factor: 2, tail, stalls: tail ? 0.03 : 0.01 }), metric),
        latency,
      );
      assert.equal(j.verdict, "fail", j.reason);
      assert.ok(j.comparison!.pValue < 0.001, j.reason);
      assert.ok(j.comparison!.over!.canary > 1.5 * j.comparison!.over!.stable, j.reason);
      assert.match(j.reason, /: worse at 99% confidence$/);
    }
  });

  it("fails a version 1.3x as slow at p50 with enough traffic; passes a slowdown within the tolerance", () => {
    assert.equal(judge("p50", measured(seconds(8, { factor: 1.3 }), "p50"), latency).verdict, "fail");
    const within = judge("p50", measured(seconds(8, { factor: 1.03 }), "p50"), latency);
    assert.equal(within.verdict, "pass", within.reason);
  });

  it("does not blame the canary for a stall of the host in a second it had much of the traffic", () => {
    const calm = seconds(6, { factor: 1, share: 0.1 });
    // The stall second: both colors' requests take 100 ms more; the canary had half of them.
    const stall = seconds(1, { factor: 1, share: 0.5, seed: 3 }).map((s) => ({
      ...s,
      candidate: traffic(Array.from({ length: 200 }, () => 110)),
      stable: traffic(Array.from({ length: 200 }, () => 110)),
    }));
    const slices = [...calm.slice(0, 3), ...stall, ...calm.slice(3)].map((s, i) => ({
      ...s,
      startMs: i * 1000,
      endMs: (i + 1) * 1000,
    }));
    const j = judge("p99", measured(slices, "p99"), latency);
    assert.equal(j.verdict, "pass", j.reason);
  });

  it("is inconclusive with fewer seconds than minSlices", () => {
    const j = judge("p99", measured(seconds(2, { factor: 3 }), "p99"), latency);
    assert.deepEqual(j, {
      verdict: "inconclusive",
      reason: "only 2 s in which both colors served (need 3)",
    });
  });
});

describe("compare: error rate by Fisher's exact test on the pooled counts", () => {
  it("fails 5% errors against none", () => {
    const m = shared({ requests: 2000, errors: 100, stableRequests: 2000, stableErrors: 0 });
    const j = judge("errorRate", m, errors);
    assert.equal(j.verdict, "fail");
    assert.equal(j.comparison?.test, "fisher");
    assert.equal(j.comparison?.effect, 0.05);
    assert.match(
      j.reason,
      /^errorRate 0\.05 vs stable 0 over 1 s side by side: \+0\.05 \(tolerance 0\.01\), p < 0\.0001: worse at 95% confidence$/,
    );
  });

  it("passes a rise within the tolerance, and a handful of errors chance explains", () => {
    const within = shared({ requests: 20000, errors: 80, stableRequests: 20000, stableErrors: 40 });
    assert.equal(judge("errorRate", within, errors).verdict, "pass");
    const few = shared({ requests: 100, errors: 3, stableRequests: 100, stableErrors: 0 });
    const j = judge("errorRate", few, errors);
    assert.equal(j.verdict, "pass", "3 of 100 against 0 of 100: p 0.12");
    assert.ok(Math.abs(j.comparison!.pValue - 0.1225) < 0.001, `p ${j.comparison!.pValue}`);
  });

  it("is inconclusive on too few requests in the shared seconds", () => {
    const m = shared({ requests: 500, errors: 0, stableRequests: 12, stableErrors: 0 });
    assert.deepEqual(judge("errorRate", m, errors), {
      verdict: "inconclusive",
      reason: "only 12 requests in the 1 s both colors served (need 20 each)",
    });
  });
});

describe("compare in the config", () => {
  const parse = (extra: object) => checkSchema.safeParse({ name: "latency", metric: "p99", ...extra });
  const messages = (r: ReturnType<typeof parse>) =>
    r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

  it("defaults confidence to 0.95 and needs a tolerance", () => {
    const ok = parse({ compare: { tolerance: 0.1 } });
    assert.ok(ok.success);
    assert.deepEqual(ok.data.compare, { confidence: 0.95, tolerance: 0.1 });
    assert.deepEqual(messages(parse({ compare: {} })), [
      "compare.tolerance: Invalid input: expected number, received undefined",
    ]);
  });

  it("names the field and the fix for a bad setting", () => {
    assert.deepEqual(messages(parse({ compare: { confidence: 0.4, tolerance: 0.1 } })), [
      "compare.confidence: must be > 0.5 (e.g. 0.95)",
    ]);
    assert.deepEqual(
      messages(parse({ compare: { confidence: 0.95, tolerance: 0.1 }, maxRatioToStable: 2 })),
      ["compare: is an alternative to maxAboveStable and maxRatioToStable: keep one of them"],
    );
    assert.deepEqual(messages(parse({ maxAboveStable: 5, noiseFloor: 10 })), [
      "noiseFloor: applies to maxRatioToStable (how much above stable a ratio's failure must also be): add maxRatioToStable or remove noiseFloor",
    ]);
    assert.deepEqual(messages(parse({ maxRatioToStable: 2, noiseFloor: -1 })), [
      "noiseFloor: must be >= 0 (in the metric's unit: ms for latency)",
    ]);
    const prom = checkSchema.safeParse({
      name: "x",
      prometheus: { address: "http://127.0.0.1:9090", query: "up" },
      compare: { tolerance: 0.1 },
    });
    assert.deepEqual(messages(prom), [
      "compare: compares teal's own metrics per color (metric: errorRate, p50, p95 or p99); use max or min",
    ]);
  });
});
