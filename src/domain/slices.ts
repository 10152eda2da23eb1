/**
 * Time slices of both colors' traffic (one second each), and the rule that makes a relative check
 * fair: the colors are compared only over the slices in which both served, side by side, so that
 * a busy second slows both and a quiet one speeds both. The new color at full load is never set
 * against the stable color's requests from an earlier, lighter moment.
 */

import type { CheckMetric } from "./analysis.ts";
import { emptyCounts } from "./latency-histogram.ts";
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
  /** The metric over all shared slices pooled (error rate, or a quantile of the summed histogram). */
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
  const side = (pick: (s: Slice) => ColorSlice): SharedSide => {
    const pooled = sum(shared.map(pick));
    const w = windowStats(undefined, pooled);
    return {
      requests: w.requests,
      errors: w.errors5xx + (include4xx ? w.errors4xx : 0),
      value: metricValue(metric, pooled, include4xx),
      perSlice: shared.map((s) => metricValue(metric, pick(s), include4xx) ?? 0),
    };
  };
  return {
    slices: shared.length,
    candidate: side((s) => s.candidate),
    stable: side((s) => s.stable),
    ...state,
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
