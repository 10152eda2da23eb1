/**
 * A fixed log-scale latency histogram (0.1 ms .. ~60 s, 25% wide buckets). Fixed bounds make
 * histograms from several worker processes mergeable by adding counts, and windows computable
 * by subtracting two cumulative snapshots.
 */

const FIRST_BOUND_MS = 0.1;
const GROWTH = 1.25;
const LOG_GROWTH = Math.log(GROWTH);
export const BUCKET_COUNT = 61;

/** Upper bound (inclusive) of each bucket in ms; the last bucket is unbounded. */
export const BUCKET_BOUNDS_MS: readonly number[] = Array.from({ length: BUCKET_COUNT }, (_, i) =>
  i === BUCKET_COUNT - 1 ? Number.POSITIVE_INFINITY : FIRST_BOUND_MS * GROWTH ** i,
);

export function bucketIndex(ms: number): number {
  if (ms <= FIRST_BOUND_MS) return 0;
  const i = Math.ceil(Math.log(ms / FIRST_BOUND_MS) / LOG_GROWTH - 1e-9);
  return i >= BUCKET_COUNT ? BUCKET_COUNT - 1 : i;
}

export function emptyCounts(): number[] {
  return new Array<number>(BUCKET_COUNT).fill(0);
}

/** Quantile q in (0,1] from bucket counts, interpolated within the bucket; undefined if empty. */
export function quantileMs(counts: readonly number[], q: number): number | undefined {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    if (seen + c >= rank) {
      const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
      const upper = i === BUCKET_COUNT - 1 ? lower * GROWTH : BUCKET_BOUNDS_MS[i]!;
      return lower + ((rank - seen) / c) * (upper - lower);
    }
    seen += c;
  }
  return BUCKET_BOUNDS_MS[BUCKET_COUNT - 2];
}

/** Requests slower than `ms`; the bucket holding `ms` is split linearly, as quantileMs interpolates. */
export function countAbove(counts: readonly number[], ms: number): number {
  let above = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
    const upper = i === BUCKET_COUNT - 1 ? lower * GROWTH : BUCKET_BOUNDS_MS[i]!;
    if (lower >= ms) above += c;
    else if (upper > ms) above += (c * (upper - ms)) / (upper - lower);
  }
  return above;
}

/**
 * p50 and p99 of the requests between two cumulative histograms (`to` minus `from`, bucket by
 * bucket), in one pass and without an array of differences: the live sampler does this for every
 * busy service every second. Gives exactly what quantileMs gives on the differences.
 */
export function windowMedianAndP99(
  from: readonly number[] | undefined,
  to: readonly number[],
): { p50Ms: number | null; p99Ms: number | null } {
  let total = 0;
  for (let i = 0; i < to.length; i++) total += to[i]! - (from?.[i] ?? 0);
  if (total === 0) return { p50Ms: null, p99Ms: null };
  const rank50 = 0.5 * total;
  const rank99 = 0.99 * total;
  let p50: number | undefined;
  let p99: number | undefined;
  let seen = 0;
  for (let i = 0; i < to.length && p99 === undefined; i++) {
    const c = to[i]! - (from?.[i] ?? 0);
    if (c === 0) continue;
    const lower = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
    const upper = i === BUCKET_COUNT - 1 ? lower * GROWTH : BUCKET_BOUNDS_MS[i]!;
    if (p50 === undefined && seen + c >= rank50) p50 = lower + ((rank50 - seen) / c) * (upper - lower);
    if (seen + c >= rank99) p99 = lower + ((rank99 - seen) / c) * (upper - lower);
    seen += c;
  }
  const last = BUCKET_BOUNDS_MS[BUCKET_COUNT - 2]!;
  return { p50Ms: p50 ?? last, p99Ms: p99 ?? last };
}
