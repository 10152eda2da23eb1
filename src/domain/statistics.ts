/**
 * The two one-sided tests behind `compare` checks, as pure functions: Mann-Whitney U ("are the
 * canary's per-slice values larger than the stable color's?") and Fisher's exact test ("is the
 * canary's error rate higher?"). Both answer a p-value; small p means "worse, not by chance".
 */

export interface MannWhitney {
  /** U of the first sample: pairs (x, y) with x > y, ties counting one half. */
  readonly u: number;
  /** One-sided p-value for "x tends to be larger than y". */
  readonly pValue: number;
  /** "exact" (small samples without ties) or "normal" (tie- and continuity-corrected). */
  readonly method: "exact" | "normal";
}

/** Both samples at most this size and no ties: the exact distribution of U (as scipy does up to 8). */
const EXACT_MAX = 20;

/** One-sided Mann-Whitney U test that x is stochastically greater than y. */
export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): MannWhitney {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("Mann-Whitney needs two non-empty samples");
  const { ranks, tieTerm } = rank([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  if (tieTerm === 0 && n1 <= EXACT_MAX && n2 <= EXACT_MAX) {
    return { u, pValue: exactUpperTail(u, n1, n2), method: "exact" };
  }
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, pValue: 1, method: "normal" }; // every value equal: no evidence
  // Continuity correction: U moves in steps of 1/2 at most, P(U >= u) ~ P(Z >= (u - 1/2 - mean) / sd).
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, pValue: normalUpperTail(z), method: "normal" };
}

/** Mid-ranks (1-based) and the tie correction sum of (t^3 - t) over groups of equal values. */
function rank(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = mid;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/**
 * P(U >= u) under the null, from the counts of arrangements giving each U: the coefficients of the
 * Gaussian binomial [n1+n2 choose n1]_q, built up by f(m, n) = q^n f(m-1, n) + f(m, n-1).
 */
function exactUpperTail(u: number, n1: number, n2: number): number {
  let row: number[][] = Array.from({ length: n2 + 1 }, () => [1]); // f(0, n) = 1
  for (let m = 1; m <= n1; m++) {
    const next: number[][] = [[1]]; // f(m, 0) = 1
    for (let n = 1; n <= n2; n++) {
      const a = row[n]!; // f(m-1, n), shifted by n
      const b = next[n - 1]!; // f(m, n-1)
      const out = new Array<number>(m * n + 1).fill(0);
      a.forEach((c, k) => {
        out[k + n]! += c;
      });
      b.forEach((c, k) => {
        out[k]! += c;
      });
      next.push(out);
    }
    row = next;
  }
  const counts = row[n2]!;
  let total = 0;
  let tail = 0;
  // u may be a half-integer only with ties, which take the normal path.
  counts.forEach((c, k) => {
    total += c;
    if (k >= u) tail += c;
  });
  return tail / total;
}

/** The smallest one-sided p-value Mann-Whitney can reach with n values on each side (no ties). */
export function smallestPValue(n: number): number {
  let c = 1; // C(2n, n) built up as a product
  for (let i = 1; i <= n; i++) c = (c * (n + i)) / i;
  return 1 / c;
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

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
