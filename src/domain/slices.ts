/**
 * Time slices of both colors' traffic (one second each), and the rule that makes a relative check
 * fair: the colors are compared only over the slices in which both served, side by side, so that
 * a busy second slows both and a quiet one speeds both. The new color at full load is never set
 * against the stable color's requests from an earlier, lighter moment.
 */

import type { CheckMetric } from "./analysis.ts";
import { emptyCounts, quantileMs } from "./latency-histogram.ts";
import { errorRate, type TrafficCounts, windowStats } from "./window-stats.ts";

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

/** One color over the shared slices: pooled counts and value, and the value of each slice. */
export interface SharedSide {
  readonly requests: number;
  readonly errors: number;
  /** The metric over all shared slices pooled (error rate, or a quantile of the summed histogram, see matchedValues). */
  readonly value: number | null;
  /** The metric in each shared slice, in time order. */
  readonly perSlice: readonly number[];
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
}

export function sharedSample(
  shared: readonly Slice[],
  metric: CheckMetric,
  include4xx: boolean,
  state: { readonly promoted: boolean; readonly warmingUp: boolean },
): SharedSample {
  const candidate = sum(shared.map((s) => s.candidate));
  const stable = sum(shared.map((s) => s.stable));
  const pooled = matchedValues(metric, candidate, stable, include4xx);
  const perSlice = shared.map((s) => matchedValues(metric, s.candidate, s.stable, include4xx));
  const side = (counts: ColorSlice, value: number | null, i: 0 | 1): SharedSide => {
    const w = windowStats(undefined, counts);
    return {
      requests: w.requests,
      errors: w.errors5xx + (include4xx ? w.errors4xx : 0),
      value,
      perSlice: perSlice.map((v) => v[i] ?? 0),
    };
  };
  return {
    slices: shared.length,
    candidate: side(candidate, pooled[0], 0),
    stable: side(stable, pooled[1], 1),
    ...state,
  };
}

const QUANTILE: Partial<Record<CheckMetric, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };

/**
 * Both colors' values over the same traffic, a latency quantile taken at the same depth into
 * each color's tail. A high quantile of a few requests is close to their maximum, and the
 * maximum of more requests is higher: at 20% the stable color serves four times as many, so its
 * plain p99 of a second (the slowest of ~20 requests against the new color's slowest of ~5) sits
 * much deeper in the tail and hides a slower version. The color with more requests is read at
 * the level the smaller sample's quantile stands for (order statistic k of n ~ level k/(n+1));
 * with equal counts, or both large, this is the plain quantile.
 */
function matchedValues(
  metric: CheckMetric,
  candidate: ColorSlice,
  stable: ColorSlice,
  include4xx: boolean,
): [number | null, number | null] {
  const q = QUANTILE[metric];
  if (q === undefined) {
    return [metricValue(metric, candidate, include4xx), metricValue(metric, stable, include4xx)];
  }
  const nc = requestsOf(candidate);
  const ns = requestsOf(stable);
  const fewer = Math.min(nc, ns);
  const level = (q * fewer) / (fewer + 1);
  const at = (counts: ColorSlice, n: number) =>
    n === 0 ? null : (quantileMs(counts.latencyBuckets, Math.min(q, (level * (n + 1)) / n)) ?? null);
  return [at(candidate, nc), at(stable, ns)];
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
