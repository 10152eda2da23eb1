import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fisherGreater,
  logGamma,
  mannWhitneyGreater,
  median,
  normalUpperTail,
  smallestPValue,
} from "../../src/domain/statistics.ts";

// Reference values from SciPy 1.17 (scipy.stats.mannwhitneyu, fisher_exact, norm.sf, gammaln).
const close = (actual: number, expected: number, relative = 1e-6) =>
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-15,
    `${actual} should be ${expected}`,
  );

describe("Mann-Whitney U, one-sided (x greater than y)", () => {
  it("gives the exact p-value for small samples without ties", () => {
    const a = mannWhitneyGreater([1.8, 2.1, 2.5, 3.0, 3.3], [1.0, 1.2, 1.5, 1.9, 2.0]);
    assert.equal(a.u, 23);
    assert.equal(a.method, "exact");
    close(a.pValue, 0.015873015873015872);
    const b = mannWhitneyGreater([3, 4, 5, 6], [1, 2, 2.5, 0.5]);
    assert.equal(b.u, 16);
    close(b.pValue, 0.014285714285714285); // 1/70: complete separation of 4 and 4
    const c = mannWhitneyGreater([1, 2, 3], [4, 5, 6]);
    assert.equal(c.u, 0);
    close(c.pValue, 1);
    const d = mannWhitneyGreater(
      [10.5, 11.2, 9.8, 12.4, 10.9, 11.7, 10.1, 12.0, 11.5, 10.7, 13.1, 9.9],
      [10.0, 10.4, 9.7, 10.8, 9.5, 11.0, 10.2, 9.95, 10.3, 10.6, 9.85, 10.15],
    );
    assert.equal(d.u, 112);
    close(d.pValue, 0.010244601273003482);
  });

  it("uses the normal approximation with tie and continuity corrections otherwise", () => {
    const ties = mannWhitneyGreater([1, 2, 2, 3, 3, 3, 4, 5], [1, 1, 2, 2, 3, 3, 4]);
    assert.equal(ties.u, 35.5);
    assert.equal(ties.method, "normal");
    close(ties.pValue, 0.20139184712323782, 1e-5);
    const x = [
      11.346, 11.822, 11.33, 9.697, 11.905, 11.446, 10.463, 11.581, 11.365, 11.294, 11.028, 11.547, 10.264,
      10.837, 10.518, 11.599, 11.04, 10.708, 10.218, 10.743, 11.008, 10.724, 12.294, 12.007, 8.289, 9.111,
      10.825, 10.578, 11.214, 11.217,
    ];
    const y = [
      12.118, 8.888, 9.622, 12.043, 10.647, 10.663, 9.486, 8.352, 10.167, 10.109, 8.773, 9.317, 9.928, 9.055,
      9.902, 10.095, 10.036, 9.494, 10.594, 10.891, 10.321, 9.182, 10.732, 9.499, 10.879, 8.928, 10.914, 9.98,
      8.751, 9.686,
    ];
    const large = mannWhitneyGreater(x, y);
    assert.equal(large.u, 723);
    assert.equal(large.method, "normal");
    close(large.pValue, 2.803639806594554e-5, 1e-5);
  });

  it("finds no evidence when every value is equal", () => {
    assert.equal(mannWhitneyGreater([2, 2, 2], [2, 2, 2]).pValue, 1);
  });

  it("knows the smallest p-value n slices per side can reach", () => {
    close(smallestPValue(4), 1 / 70);
    close(smallestPValue(5), 1 / 252);
  });
});

describe("Fisher's exact test, one-sided (group 1 has the higher rate)", () => {
  it("matches SciPy from a handful of errors to many", () => {
    const cases: [number, number, number, number, number][] = [
      [3, 1000, 0, 1000, 0.12481240620310154],
      [12, 1000, 4, 1000, 0.03782333576278144],
      [50, 10000, 30, 10000, 0.016322292418622715],
      [0, 100, 5, 100, 1.0],
      [5, 40, 1, 60, 0.03633972801866763],
      [520, 100000, 480, 100000, 0.10814809525024935],
      [1500, 20000, 1000, 20000, 2.3334603313369652e-25],
    ];
    for (const [e1, n1, e2, n2, p] of cases) close(fisherGreater(e1, n1, e2, n2), p, 1e-6);
  });

  it("is 1 without any error", () => {
    assert.equal(fisherGreater(0, 500, 0, 500), 1);
  });
});

describe("helpers", () => {
  it("computes ln Γ, the normal tail and medians", () => {
    close(logGamma(0.5), 0.5723649429247, 1e-12);
    close(logGamma(10), 12.801827480081469, 1e-12);
    close(logGamma(1e6), 12815504.569147611, 1e-12);
    close(normalUpperTail(0), 0.5);
    close(normalUpperTail(1.6448536269514722), 0.05);
    close(normalUpperTail(-1), 0.8413447460685429);
    close(normalUpperTail(3), 0.0013498980316300933);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
