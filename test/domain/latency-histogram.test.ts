import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUCKET_BOUNDS_MS,
  bucketIndex,
  countAbove,
  emptyCounts,
  quantileMs,
  windowMedianAndP99,
} from "../../src/domain/latency-histogram.ts";

describe("latency histogram", () => {
  it("puts each value in the first bucket whose bound is not below it", () => {
    for (const ms of [0.05, 0.1, 0.11, 1, 3.3, 42, 999, 30_000]) {
      const i = bucketIndex(ms);
      assert.ok(ms <= BUCKET_BOUNDS_MS[i]!, `${ms} <= bound ${BUCKET_BOUNDS_MS[i]}`);
      if (i > 0) assert.ok(ms > BUCKET_BOUNDS_MS[i - 1]!, `${ms} > previous bound`);
    }
    assert.equal(bucketIndex(1e9), BUCKET_BOUNDS_MS.length - 1);
  });

  it("estimates quantiles within one bucket (25%) of the truth", () => {
    const counts = emptyCounts();
    const values = Array.from({ length: 1_000 }, (_, i) => 1 + i / 10);
    for (const v of values) counts[bucketIndex(v)]!++;
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = values[Math.ceil(q * values.length) - 1]!;
      const estimate = quantileMs(counts, q)!;
      assert.ok(Math.abs(estimate - truth) / truth < 0.25, `q${q}: ${estimate} vs ${truth}`);
    }
  });

  it("has no quantile when empty", () => {
    assert.equal(quantileMs(emptyCounts(), 0.5), undefined);
  });

  it("counts the requests over a line, splitting its bucket as the quantiles do", () => {
    const counts = emptyCounts();
    const values = Array.from({ length: 1_000 }, (_, i) => 1 + i / 10);
    for (const v of values) counts[bucketIndex(v)]!++;
    assert.equal(countAbove(counts, 0), 1_000);
    assert.equal(countAbove(counts, 1e9), 0);
    for (const q of [0.5, 0.9, 0.99]) {
      // Over the estimated quantile lie (1 - q) of the requests, exactly: the same interpolation.
      const line = quantileMs(counts, q)!;
      assert.ok(Math.abs(countAbove(counts, line) - (1 - q) * 1_000) < 1e-6, `q${q}`);
    }
  });

  it("gives a window's p50 and p99 exactly as quantileMs does on the differences", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 500; round++) {
      const from = emptyCounts().map(() => (random() < 0.3 ? Math.floor(random() * 1000) : 0));
      // Some windows are empty, some hold a few requests, some reach the unbounded last bucket.
      const to = from.map((n) => n + (random() < round / 500 ? Math.floor(random() * 50) : 0));
      if (round % 7 === 0) to[to.length - 1]! += 3;
      const diff = to.map((n, i) => n - from[i]!);
      const expected = { p50Ms: quantileMs(diff, 0.5) ?? null, p99Ms: quantileMs(diff, 0.99) ?? null };
      assert.deepEqual(windowMedianAndP99(from, to), expected, `round ${round}`);
      const fromStart = { p50Ms: quantileMs(to, 0.5) ?? null, p99Ms: quantileMs(to, 0.99) ?? null };
      assert.deepEqual(windowMedianAndP99(undefined, to), fromStart, `round ${round}, no earlier read`);
    }
  });
});
