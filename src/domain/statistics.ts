/**
 * The two one-sided tests behind `compare` checks, as pure functions: van Elteren's stratified
 * rank-sum ("are the canary's requests slower than the stable color's, second by second?") and
 * Fisher's exact test ("is the canary's error rate higher?"). Both answer a p-value; small p means
 * "worse, not by chance".
 */

/** One stratum of grouped values: at each distinct value, how many of each group have it. */
export type RankedStratum = readonly { readonly value: number; readonly n1: number; readonly n2: number }[];

/**
 * One-sided van Elteren test (the stratified Wilcoxon rank-sum) that group 1's values tend to be
 * larger: each stratum's rank sum of group 1, against what it would be were both groups alike,
 * weighted 1/(N+1) and added up. Ties take mid-ranks and the tie-corrected variance; normal
 * approximation. Strata may hold very different sizes and mixes, as seconds of a canary do.
 */
export function vanElterenGreater(strata: readonly RankedStratum[]): {
  readonly z: number;
  readonly pValue: number;
} {
  let statistic = 0;
  let variance = 0;
  for (const groups of strata) {
    const sorted = [...groups].sort((a, b) => a.value - b.value);
    let n1 = 0;
    let n2 = 0;
    let rankSum = 0;
    let tieTerm = 0;
    let seen = 0;
    for (const g of sorted) {
      const t = g.n1 + g.n2;
      if (t === 0) continue;
      rankSum += g.n1 * (seen + (t + 1) / 2);
      tieTerm += t * t * t - t;
      seen += t;
      n1 += g.n1;
      n2 += g.n2;
    }
    const n = n1 + n2;
    if (n1 === 0 || n2 === 0) continue;
    const w = 1 / (n + 1);
    statistic += w * (rankSum - (n1 * (n + 1)) / 2);
    variance += w * w * ((n1 * n2 * (n + 1)) / 12 - (n1 * n2 * tieTerm) / (12 * n * (n - 1)));
  }
  if (variance <= 1e-12) return { z: 0, pValue: 1 }; // every value tied: no evidence
  const z = statistic / Math.sqrt(variance);
  return { z, pValue: normalUpperTail(z) };
}

/**
 * One-sided Fisher exact test that group 1's rate is higher: P(X >= e1) for X hypergeometric
 * (e1 + e2 errors drawn among n1 + n2 requests, n1 of them in group 1). Exact at any count,
 * where a z-test misleads with a handful of errors.
 */
export function fisherGreater(e1: number, n1: number, e2: number, n2: number): number {
  const errors = e1 + e2;
  const n = n1 + n2;
  const lo = Math.max(0, errors - n2);
  const hi = Math.min(errors, n1);
  if (e1 <= lo) return 1;
  const base = logChoose(n1, e1) + logChoose(n2, errors - e1) - logChoose(n, errors);
  const mode = Math.floor(((n1 + 1) * (errors + 1)) / (n + 2));
  // Sum whichever tail does not hold the mode, from e1 outwards, until the terms vanish.
  const upper = e1 > mode;
  let sum = 0;
  let logTerm = upper ? base : logPmf(e1 - 1, n1, n2, errors, n);
  for (let k = upper ? e1 : e1 - 1; upper ? k <= hi : k >= lo; k += upper ? 1 : -1) {
    const term = Math.exp(logTerm);
    sum += term;
    if (term < sum * 1e-17) break;
    logTerm += upper
      ? Math.log(((n1 - k) * (errors - k)) / ((k + 1) * (n2 - errors + k + 1)))
      : Math.log((k * (n2 - errors + k)) / ((n1 - k + 1) * (errors - k + 1)));
  }
  const p = upper ? sum : 1 - sum;
  return Math.min(1, Math.max(0, p));
}

function logPmf(k: number, n1: number, n2: number, errors: number, n: number): number {
  return logChoose(n1, k) + logChoose(n2, errors - k) - logChoose(n, errors);
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(Z >= z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function, relative error < 1.2e-7 (Numerical Recipes' erfcc, Chebyshev). */
const ERFC = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC.length - 1; i >= 0; i--) poly = ERFC[i]! + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}
