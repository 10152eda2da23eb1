/**
 * Time slices of both colors' traffic (one second each), and the rule that makes a relative check
 * fair: the colors are compared only over the slices in which both served, side by side, so that
 * a busy second slows both and a quiet one speeds both. The new color at full load is never set
 * against the stable color's requests from an earlier, lighter moment.
 */

import { BUCKET_BOUNDS_MS, countAbove, emptyCounts, quantileMs } from "./latency-histogram.ts";
import { type RankedStratum, vanElterenGreater } from "./statistics.ts";
import { type CheckMetric, errorRate, type TrafficCounts, windowStats } from "./window-stats.ts";

/** One color's traffic in one slice: responses by status class (1..5) and latency bucket counts. */
export type ColorSlice = TrafficCounts;

export interface Slice {
  readonly startMs: number;
  readonly endMs: number;
  readonly candidate: ColorSlice;
  readonly stable: ColorSlice;
}

export interface SliceRules {
  /** Each color needs at least this many completed requests in a slice for the slice to count. */
  readonly minRequests: number;
  /** Only slices starting at or after this (the analysis window, or the end of the warmup). */
  readonly fromMs: number;
}

export const requestsOf = (c: ColorSlice): number => c.byClass.reduce((a, b) => a + b, 0);

/**
 * The slices a relative check compares: both colors had enough requests, and both already served
 * in the slice before, so that neither was starting mid-slice (a color's first second holds its
 * cold start and a fraction of a second's load; it is not a like-for-like slice).
 */
export function sharedSlices(slices: readonly Slice[], rules: SliceRules): Slice[] {
  return slices.filter((s, i) => {
    const before = slices[i - 1];
    return (
      s.startMs >= rules.fromMs &&
      before !== undefined &&
      before.endMs === s.startMs &&
      requestsOf(before.candidate) > 0 &&
      requestsOf(before.stable) > 0 &&
      requestsOf(s.candidate) >= rules.minRequests &&
      requestsOf(s.stable) >= rules.minRequests
    );
  });
}

/** One color over the shared slices: pooled counts and value. */
export interface SharedSide {
  readonly requests: number;
  readonly errors: number;
  /** The metric over all shared slices pooled (error rate, or a quantile of the summed histogram). */
  readonly value: number | null;
}

/**
 * What a latency `compare` judges, over the shared slices: a line at the stable color's quantile
 * (p99: its p99), and each color's requests slower than it, ranked second by second against the
 * other color's (the new color's latencies divided by 1 + tolerance; every request under the line
 * counts as the line: only the tail the check names is compared, by how many and by how slow).
 */
export interface TailComparison {
  /** The stable color's quantile, pooled over the shared slices (ms). */
  readonly stableMs: number;
  /** The new color's line: stableMs × (1 + tolerance). */
  readonly lineMs: number;
  /** Share of the new color's requests over its line, and of stable's over stableMs. */
  readonly canaryOver: number;
  readonly stableOver: number;
  /** One-sided van Elteren p-value: the new color's tail is slower beyond the tolerance. */
  readonly pValue: number;
}

/** Both colors over the same shared slices: what relative thresholds and `compare` judge. */
export interface SharedSample {
  readonly slices: number;
  readonly candidate: SharedSide;
  readonly stable: SharedSide;
  /** Set once the new color has all traffic: no new shared slice can come. */
  readonly promoted: boolean;
  /** Set while the new color's first seconds (analysis.warmup) cut into the window. */
  readonly warmingUp: boolean;
  /** Latency metrics, when the check compares statistically (it needs the tolerance). */
  readonly tail?: TailComparison;
}

export function sharedSample(
  shared: readonly Slice[],
  metric: CheckMetric,
  include4xx: boolean,
  state: { readonly promoted: boolean; readonly warmingUp: boolean },
  /** Set for a `compare` check: latency metrics then carry their tail comparison. */
  tolerance?: number,
): SharedSample {
  const side = (pooled: ColorSlice): SharedSide => {
    const w = windowStats(undefined, pooled);
    return {
      requests: w.requests,
      errors: w.errors5xx + (include4xx ? w.errors4xx : 0),
      value: metricValue(metric, pooled, include4xx),
    };
  };
  const stable = sum(shared.map((s) => s.stable));
  const q = QUANTILE[metric];
  const tail =
    tolerance !== undefined && q !== undefined ? compareTails(shared, stable, q, tolerance) : undefined;
  return {
    slices: shared.length,
    candidate: side(sum(shared.map((s) => s.candidate))),
    stable: side(stable),
    ...state,
    ...(tail ? { tail } : {}),
  };
}

const QUANTILE: Partial<Record<CheckMetric, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };
/**
 * How deep into the tail a latency compare ranks: five times the share the quantile names (p99:
 * the slowest 5%, from stable's p95; p95: from p75; p50: everything). At the quantile's own line
 * a canary has too few requests to tell (p99 of 600 is the slowest 6); five times as many let
 * both how many are slow and how slow they are count.
 */
const TAIL_DEPTH = 5;

/** A latency's position on the histogram's log scale (in buckets: bucket i spans (i - 1, i]). */
const position = (ms: number) =>
  Math.log(ms / BUCKET_BOUNDS_MS[0]!) / Math.log(BUCKET_BOUNDS_MS[1]! / BUCKET_BOUNDS_MS[0]!);

function compareTails(
  shared: readonly Slice[],
  stable: ColorSlice,
  q: number,
  tolerance: number,
): TailComparison | undefined {
  const stableMs = quantileMs(stable.latencyBuckets, q);
  if (stableMs === undefined) return undefined;
  const depth = 1 - TAIL_DEPTH * (1 - q);
  const line = depth > 0 ? position(quantileMs(stable.latencyBuckets, depth)!) : Number.NEGATIVE_INFINITY;
  const shift = position(BUCKET_BOUNDS_MS[0]! * (1 + tolerance));
  const strata: RankedStratum[] = shared.map((s) => {
    const groups: { value: number; n1: number; n2: number }[] = [{ value: line, n1: 0, n2: 0 }];
    const add = (counts: readonly number[], offset: number, key: "n1" | "n2") =>
      counts.forEach((c, i) => {
        if (c === 0) return;
        const value = i - 0.5 - offset; // the bucket's middle
        if (value <= line) groups[0]![key] += c;
        else groups.push({ value, n1: key === "n1" ? c : 0, n2: key === "n2" ? c : 0 });
      });
    add(s.candidate.latencyBuckets, shift, "n1");
    add(s.stable.latencyBuckets, 0, "n2");
    return groups;
  });
  const lineMs = stableMs * (1 + tolerance);
  const share = (pick: (s: Slice) => ColorSlice, ms: number) => {
    const requests = shared.reduce((a, s) => a + requestsOf(pick(s)), 0);
    return shared.reduce((a, s) => a + countAbove(pick(s).latencyBuckets, ms), 0) / Math.max(1, requests);
  };
  return {
    stableMs,
    lineMs,
    canaryOver: share((s) => s.candidate, lineMs),
    stableOver: share((s) => s.stable, stableMs),
    pValue: vanElterenGreater(strata).pValue,
  };
}

/** The metric's value for some traffic; null without requests. */
export function metricValue(metric: CheckMetric, counts: TrafficCounts, include4xx: boolean): number | null {
  const w = windowStats(undefined, counts);
  switch (metric) {
    case "errorRate":
      return errorRate(w, include4xx);
    case "p50":
      return w.p50Ms;
    case "p95":
      return w.p95Ms;
    case "p99":
      return w.p99Ms;
  }
}

function sum(parts: readonly ColorSlice[]): ColorSlice {
  const byClass = [0, 0, 0, 0, 0, 0];
  const latencyBuckets = emptyCounts();
  for (const p of parts) {
    p.byClass.forEach((n, i) => {
      byClass[i]! += n;
    });
    p.latencyBuckets.forEach((n, i) => {
      latencyBuckets[i]! += n;
    });
  }
  return { byClass, latencyBuckets };
}
