import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fisherGreater,
  logGamma,
  normalUpperTail,
  type RankedStratum,
  vanElterenGreater,
} from "../../src/domain/statistics.ts";

// Reference values from SciPy 1.17 (mannwhitneyu, rankdata, fisher_exact, norm.sf, gammaln).
const close = (actual: number, expected: number, relative = 1e-6) =>
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.abs(expected) + 1e-15,
    `${actual} should be ${expected}`,
  );

/** Values of two groups as grouped counts, as teal holds them (histogram buckets). */
function grouped(x: readonly number[], y: readonly number[]): RankedStratum {
  const at = new Map<number, { value: number; n1: number; n2: number }>();
  const get = (value: number) => at.get(value) ?? at.set(value, { value, n1: 0, n2: 0 }).get(value)!;
  for (const v of x) get(v).n1 += 1;
  for (const v of y) get(v).n2 += 1;
  return [...at.values()];
}

describe("van Elteren, one-sided (group 1 larger), stratified", () => {
  const x = [1.8, 2.1, 2.5, 3.0, 3.3, 2.2, 2.2];
  const y = [1.0, 1.2, 1.5, 1.9, 2.0, 2.2, 2.5, 1.1];

  it("is Mann-Whitney (normal, tie-corrected, no continuity correction) with one stratum", () => {
    // scipy.stats.mannwhitneyu(x, y, alternative="greater", use_continuity=False, method="asymptotic")
    close(vanElterenGreater([grouped(x, y)]).pValue, 0.015754630651836285, 1e-5);
  });

  it("weights strata by 1/(N+1) and adds them up", () => {
    const second = grouped([5, 6, 7, 7], [4, 5, 5, 6, 6, 6, 7, 8, 3, 4, 5, 5, 6, 6]);
    const r = vanElterenGreater([grouped(x, y), second]);
    close(r.z, 2.444029216530801, 1e-6);
    close(r.pValue, 0.007262125139518105, 1e-5);
  });

  it("does not count a stratum's shared slowness against the smaller group", () => {
    // A second in which the host stalled: everything slow, and group 1 had half of the traffic;
    // in the calm seconds it had a tenth. Pooled in one ranking, group 1 looks slower; stratified, not.
    const stallX = Array<number>(20).fill(100);
    const calmX = [1, 2, 3, 4, 5];
    const calmY = [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5];
    const pooled = vanElterenGreater([
      grouped([...stallX, ...calmX, ...calmX], [...stallX, ...calmY, ...calmY]),
    ]);
    assert.ok(pooled.pValue < 0.05, `pooled p ${pooled.pValue}`);
    const calm = grouped(calmX, calmY);
    const fair = vanElterenGreater([grouped(stallX, stallX), calm, calm]);
    assert.ok(fair.pValue > 0.3, `p ${fair.pValue}`);
  });

  it("finds no evidence when every value ties or a group is empty", () => {
    assert.equal(vanElterenGreater([grouped([2, 2], [2, 2, 2])]).pValue, 1);
    assert.equal(vanElterenGreater([grouped([], [1, 2])]).pValue, 1);
    assert.equal(vanElterenGreater([]).pValue, 1);
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
  it("computes ln Γ, and the normal tail", () => {
    close(logGamma(0.5), 0.5723649429247, 1e-12);
    close(logGamma(10), 12.801827480081469, 1e-12);
    close(logGamma(1e6), 12815504.569147611, 1e-12);
    close(normalUpperTail(0), 0.5);
    close(normalUpperTail(1.6448536269514722), 0.05);
    close(normalUpperTail(-1), 0.8413447460685429);
    close(normalUpperTail(3), 0.0013498980316300933);
  });
});
