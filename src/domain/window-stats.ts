/**
 * Traffic of one color over a time window, from two cumulative snapshots: counters subtract,
 * and so do the fixed-bucket latency histograms, so p50/p95/p99 of exactly that window come out.
 */

import { quantileMs } from "./latency-histogram.ts";

/** teal's own per-color metrics, as checks name them. */
export type CheckMetric = "errorRate" | "p50" | "p95" | "p99";

/**
 * The part of a color's cumulative counters a window needs (a data plane's per-color snapshot has
 * these and more): completed responses by status class (index 1..5) and latency bucket counts.
 */
export interface TrafficCounts {
  readonly byClass: readonly number[];
  readonly latencyBuckets: readonly number[];
}

export interface WindowStats {
  /** Completed responses in the window (client aborts excluded). */
  readonly requests: number;
  readonly errors5xx: number;
  readonly errors4xx: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

export function windowStats(from: TrafficCounts | undefined, to: TrafficCounts): WindowStats {
  const byClass = to.byClass.map((n, i) => n - (from?.byClass[i] ?? 0));
  const buckets = to.latencyBuckets.map((n, i) => n - (from?.latencyBuckets[i] ?? 0));
  const q = (p: number) => quantileMs(buckets, p) ?? null;
  return {
    requests: byClass.reduce((a, b) => a + b, 0),
    errors5xx: byClass[5] ?? 0,
    errors4xx: byClass[4] ?? 0,
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
  };
}

/** Share of responses that count as errors (5xx, and 4xx when asked), 0..1; null without requests. */
export function errorRate(w: WindowStats, include4xx: boolean): number | null {
  if (w.requests === 0) return null;
  return (w.errors5xx + (include4xx ? w.errors4xx : 0)) / w.requests;
}
