import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../src/config/schema.ts";
import { judge, type Measurement, minSlicesFor } from "../../src/domain/analysis.ts";

/** Both colors over shared seconds: per-second values (latency) or pooled counts (errors). */
function shared(
  canary: number[],
  stable: number[],
  counts = { requests: 1000, errors: 0, stableRequests: 1000, stableErrors: 0 },
): Measurement {
  return {
    value: canary[0] ?? 0,
    sampleSize: counts.requests,
    shared: {
      slices: canary.length,
      promoted: false,
      warmingUp: false,
      candidate: { requests: counts.requests, errors: counts.errors, value: null, perSlice: canary },
      stable: { requests: counts.stableRequests, errors: counts.stableErrors, value: null, perSlice: stable },
    },
  };
}

const latency = { compare: { confidence: 0.95, tolerance: 0.1 }, minRequests: 20 };
const errors = { compare: { confidence: 0.95, tolerance: 0.01 }, minRequests: 20 };
const NOISE = [10.2, 9.8, 11.5, 10.1, 9.6, 10.9, 12.3, 9.9, 10.4, 10.0];
const STABLE = [10.0, 10.3, 9.7, 11.1, 10.6, 9.5, 10.2, 12.0, 9.8, 10.5];

describe("compare: latency by Mann-Whitney U over the shared seconds", () => {
  it("passes a version as fast as stable, with its numbers", () => {
    const j = judge("p99", shared(NOISE, STABLE), latency);
    assert.equal(j.verdict, "pass");
    assert.equal(j.comparison?.test, "mann-whitney");
    assert.equal(j.comparison?.slices, 10);
    assert.ok(j.comparison!.pValue > 0.3, `p ${j.comparison!.pValue}`);
    assert.ok(Math.abs(j.comparison!.effect - 1) < 0.05);
    assert.match(
      j.reason,
      /^p99 median 10\.\d+ vs stable 10\.3 over 10 s side by side: ×0\.99 \(tolerance ×1\.1\), p 0\.\d+$/,
    );
  });

  it("fails a version twice as slow", () => {
    const j = judge(
      "p99",
      shared(
        NOISE.map((v) => 2 * v),
        STABLE,
      ),
      latency,
    );
    assert.equal(j.verdict, "fail");
    assert.ok(j.comparison!.pValue < 0.001);
    assert.match(
      j.reason,
      /^p99 median 20\.3 vs stable 10\.3 over 10 s side by side: ×1\.98 \(tolerance ×1\.1\), p < 0\.0001: worse at 95% confidence$/,
    );
  });

  it("passes a significant slowdown within the tolerance", () => {
    const j = judge(
      "p99",
      shared(
        STABLE.map((v) => v * 1.05 + 0.01),
        STABLE,
      ),
      latency,
    );
    assert.equal(j.verdict, "pass");
    assert.ok(j.comparison!.effect > 1 && j.comparison!.effect < 1.1);
  });

  it("passes a large but noisy difference that chance explains", () => {
    const j = judge("p99", shared([5, 40, 6, 38, 7], [30, 8, 35, 9, 6]), latency);
    assert.equal(j.verdict, "pass");
    assert.ok(j.comparison!.pValue > 0.05);
  });

  it("is inconclusive with fewer seconds than the confidence needs", () => {
    assert.equal(minSlicesFor(0.95), 5);
    assert.equal(minSlicesFor(0.9999), 8);
    const j = judge("p99", shared([30, 31, 32], [10, 11, 12]), latency);
    assert.deepEqual(j, {
      verdict: "inconclusive",
      reason: "only 3 s in which both colors served (need 5 for 95% confidence)",
    });
  });
});

describe("compare: error rate by Fisher's exact test on the pooled counts", () => {
  it("fails 5% errors against none", () => {
    const m = shared([0], [0], { requests: 2000, errors: 100, stableRequests: 2000, stableErrors: 0 });
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
    const within = shared([0], [0], { requests: 20000, errors: 80, stableRequests: 20000, stableErrors: 40 });
    assert.equal(judge("errorRate", within, errors).verdict, "pass");
    const few = shared([0], [0], { requests: 100, errors: 3, stableRequests: 100, stableErrors: 0 });
    const j = judge("errorRate", few, errors);
    assert.equal(j.verdict, "pass", "3 of 100 against 0 of 100: p 0.12");
    assert.ok(Math.abs(j.comparison!.pValue - 0.1225) < 0.001, `p ${j.comparison!.pValue}`);
  });

  it("is inconclusive on too few requests in the shared seconds", () => {
    const m = shared([0], [0], { requests: 500, errors: 0, stableRequests: 12, stableErrors: 0 });
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
