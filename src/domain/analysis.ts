/**
 * Analysis verdicts, as pure logic: one measurement is judged against a check's thresholds
 * (absolute over the window; relative to the stable color over the slices both colors served
 * side by side) or by a statistical comparison of the two colors, and a check's measurements add
 * up to its result. Too little traffic is `inconclusive`, never a pass or a fail.
 */

import type { SharedSample } from "./slices.ts";
import { fisherGreater } from "./statistics.ts";

export type MeasurementVerdict = "pass" | "fail" | "inconclusive" | "error";
export type CheckResult = "running" | "passed" | "failed" | "inconclusive";
export type { CheckMetric } from "./window-stats.ts";

/** The statistical form: fail only when the new color is worse beyond chance and beyond tolerance. */
export interface CompareSettings {
  /** In (0.5, 0.9999]: the one-sided p-value must be below 1 - confidence to fail. */
  readonly confidence: number;
  /** Latency: allowed relative increase (0.1 = 10% slower); errorRate: allowed rise of the rate (0.01 = one point). */
  readonly tolerance: number;
}

export interface Thresholds {
  /** The value must be at most this. */
  readonly max?: number;
  /** The value must be at least this. */
  readonly min?: number;
  /** At most the stable color's value plus this (same unit, e.g. 0.01 = one point of error rate). */
  readonly maxAboveStable?: number;
  /** At most this many times the stable color's value (e.g. 1.5 for "p99 no worse than 1.5x"). */
  readonly maxRatioToStable?: number;
  /**
   * With maxRatioToStable: a new color worse than stable by no more than this (the metric's unit,
   * e.g. 20 ms of p99) passes whatever the ratio. A fast app's p99 is the machine's noise: 21 ms
   * against 7 is 3x, and nothing a user would notice.
   */
  readonly noiseFloor?: number;
  readonly compare?: CompareSettings;
  /** Relative forms: fewer seconds in which both colors served is inconclusive (default 1). */
  readonly minSlices?: number;
  /** Fewer requests than this in the window (candidate, or either color in the shared slices) is inconclusive. */
  readonly minRequests: number;
}

/** What a metric source measured; sample sizes are request counts where the source knows them. */
export interface Measurement {
  /** The new color over the whole window (absolute thresholds). */
  readonly value: number | null;
  readonly sampleSize: number | null;
  /** Both colors over the slices in which both served (teal's own metrics only). */
  readonly shared?: SharedSample;
  /** Set when the source could not measure (query failed, endpoint down). */
  readonly error?: string;
}

/** The numbers behind a `compare` verdict. */
export interface Comparison {
  readonly test: "van-elteren" | "fisher";
  /** Shared slices (seconds) compared. */
  readonly slices: number;
  /** Latency: the new color's quantile over the shared slices pooled; errorRate: its pooled rate. */
  readonly canary: number;
  readonly stable: number;
  /** Latency: canary / stable (1.1 = 10% slower); errorRate: canary - stable (0.01 = one point). */
  readonly effect: number;
  /** One-sided: the chance of a difference at least this much in the canary's disfavour if there were none. */
  readonly pValue: number;
  /** Latency: the share of each color's requests over its line (stable's quantile; × (1 + tolerance) for the new color). */
  readonly over?: { readonly lineMs: number; readonly canary: number; readonly stable: number };
}

/** A comparison with when it was made and what it decided. */
export interface LastComparison extends Comparison {
  readonly at: string;
  readonly verdict: MeasurementVerdict;
  readonly reason: string;
}

export interface Judgement {
  readonly verdict: MeasurementVerdict;
  /** Human: the values and the threshold that decided, e.g. "p99 812 ms > 1.5 × stable 240 ms". */
  readonly reason: string;
  readonly comparison?: Comparison;
}

const fmt = (v: number) => String(Number(v.toPrecision(3)));
const fmtShare = (x: number) => `${Number((x * 100).toPrecision(2))}%`;
const fmtP = (p: number) => (p < 0.0001 ? "< 0.0001" : String(Number(p.toPrecision(2))));

export function judge(metric: string, m: Measurement, t: Thresholds): Judgement {
  if (m.error !== undefined) return { verdict: "error", reason: m.error };
  if (m.sampleSize !== null && m.sampleSize < t.minRequests) {
    return inconclusive(`only ${m.sampleSize} requests in the window (need ${t.minRequests})`);
  }
  if (m.value === null) return inconclusive(`no ${metric} value in the window`);
  const v = m.value;
  if (t.max !== undefined && v > t.max) return fail(`${metric} ${fmt(v)} > max ${fmt(t.max)}`);
  if (t.min !== undefined && v < t.min) return fail(`${metric} ${fmt(v)} < min ${fmt(t.min)}`);
  if (t.maxAboveStable !== undefined || t.maxRatioToStable !== undefined) return relative(metric, m, t);
  if (t.compare !== undefined) return compare(metric, m, t.compare, t.minRequests, t.minSlices ?? 1);
  return { verdict: "pass", reason: `${metric} ${fmt(v)}` };
}

/** Why there is nothing to compare, or undefined when both colors have enough shared traffic. */
function notComparable(
  metric: string,
  shared: SharedSample | undefined,
  minRequests: number,
  minSlices: number,
) {
  if (shared === undefined) return inconclusive(`no stable ${metric} to compare with`);
  if (shared.slices === 0) {
    const why = shared.promoted
      ? " (after full promotion stable serves no traffic: nothing to compare)"
      : shared.warmingUp
        ? " (the new color's warmup is left out)"
        : "";
    return inconclusive(`no second in the window in which both colors served${why}`);
  }
  if (shared.slices < minSlices) {
    return inconclusive(`only ${shared.slices} s in which both colors served (need ${minSlices})`);
  }
  const fewer = Math.min(shared.candidate.requests, shared.stable.requests);
  if (fewer < minRequests) {
    return inconclusive(
      `only ${fewer} requests in the ${shared.slices} s both colors served (need ${minRequests} each)`,
    );
  }
  return undefined;
}

function relative(metric: string, m: Measurement, t: Thresholds): Judgement {
  const shared = m.shared;
  const why = notComparable(metric, shared, t.minRequests, t.minSlices ?? 1);
  if (why || !shared) return why!;
  const v = shared.candidate.value;
  const s = shared.stable.value;
  if (v === null || s === null) return inconclusive(`no stable ${metric} to compare with`);
  const span = `over the ${shared.slices} s both served`;
  if (t.maxAboveStable !== undefined && v > s + t.maxAboveStable) {
    return fail(`${metric} ${fmt(v)} > stable ${fmt(s)} + ${fmt(t.maxAboveStable)} ${span}`);
  }
  if (t.maxRatioToStable !== undefined && v > s * t.maxRatioToStable && v - s > (t.noiseFloor ?? 1e-9)) {
    const floor = t.noiseFloor === undefined ? "" : ` and more than ${fmt(t.noiseFloor)} above it`;
    return fail(`${metric} ${fmt(v)} > ${fmt(t.maxRatioToStable)} × stable ${fmt(s)}${floor} ${span}`);
  }
  return { verdict: "pass", reason: `${metric} ${fmt(v)} (stable ${fmt(s)}) ${span}` };
}

function compare(
  metric: string,
  m: Measurement,
  c: CompareSettings,
  minRequests: number,
  minSlices: number,
): Judgement {
  const shared = m.shared;
  const why = notComparable(metric, shared, minRequests, minSlices);
  if (why || !shared) return why!;
  const alpha = 1 - c.confidence;
  const span = `${shared.slices} s side by side`;
  let comparison: Comparison;
  let worse: boolean;
  let text: string;
  if (metric === "errorRate") {
    const { candidate: a, stable: b } = shared;
    const canary = a.errors / a.requests;
    const stable = b.errors / b.requests;
    const pValue = fisherGreater(a.errors, a.requests, b.errors, b.requests);
    comparison = { test: "fisher", slices: shared.slices, canary, stable, effect: canary - stable, pValue };
    worse = canary - stable > c.tolerance;
    text = `errorRate ${fmt(canary)} vs stable ${fmt(stable)} over ${span}: ${canary >= stable ? "+" : ""}${fmt(canary - stable)} (tolerance ${fmt(c.tolerance)}), p ${fmtP(pValue)}`;
  } else {
    const canary = shared.candidate.value;
    const x = shared.tail;
    if (canary === null || x === undefined) return inconclusive(`no stable ${metric} to compare with`);
    const stable = x.stableMs;
    const over = { lineMs: x.lineMs, canary: x.canaryOver, stable: x.stableOver };
    const effect = stable > 0 ? canary / stable : canary > 0 ? Number.POSITIVE_INFINITY : 1;
    comparison = {
      test: "van-elteren",
      slices: shared.slices,
      canary,
      stable,
      effect,
      pValue: x.pValue,
      over,
    };
    // Both: the quantile is beyond tolerance, and the new color's tail is slower than stable's,
    // second by second, beyond chance.
    worse = effect > 1 + c.tolerance;
    text = `${metric} ${fmt(canary)} vs stable ${fmt(stable)} over ${span}: ×${fmt(effect)} (tolerance ×${fmt(1 + c.tolerance)}); ${fmtShare(over.canary)} of its requests over ${fmt(x.lineMs)} ms vs ${fmtShare(over.stable)} of stable's over ${fmt(stable)} ms, p ${fmtP(x.pValue)}`;
  }
  const significant = comparison.pValue < alpha;
  if (worse && significant) {
    return {
      verdict: "fail",
      reason: `${text}: worse at ${fmt(c.confidence * 100)}% confidence`,
      comparison,
    };
  }
  return { verdict: "pass", reason: text, comparison };
}

function inconclusive(reason: string): Judgement {
  return { verdict: "inconclusive", reason };
}

function fail(reason: string): Judgement {
  return { verdict: "fail", reason };
}

export interface CheckLimits {
  /** Measurements needed to pass; undefined: keep measuring until the analysis ends. */
  readonly count?: number;
  /** Failed measurements tolerated; one more fails the check. */
  readonly failureLimit: number;
  /** Consecutive measurement errors tolerated; one more fails the check. */
  readonly consecutiveErrorLimit: number;
}

export interface CheckTally {
  readonly passes: number;
  readonly failures: number;
  readonly inconclusives: number;
  readonly consecutiveErrors: number;
  readonly result: CheckResult;
}

export const EMPTY_TALLY: CheckTally = {
  passes: 0,
  failures: 0,
  inconclusives: 0,
  consecutiveErrors: 0,
  result: "running",
};

/** Adds one measurement's verdict to a check's tally. A finished check does not change. */
export function tally(t: CheckTally, verdict: MeasurementVerdict, limits: CheckLimits): CheckTally {
  if (t.result !== "running") return t;
  const next = {
    passes: t.passes + (verdict === "pass" ? 1 : 0),
    failures: t.failures + (verdict === "fail" ? 1 : 0),
    inconclusives: t.inconclusives + (verdict === "inconclusive" ? 1 : 0),
    consecutiveErrors: verdict === "error" ? t.consecutiveErrors + 1 : 0,
  };
  if (next.failures > limits.failureLimit || next.consecutiveErrors > limits.consecutiveErrorLimit) {
    return { ...next, result: "failed" };
  }
  if (limits.count !== undefined && next.passes >= limits.count) return { ...next, result: "passed" };
  return { ...next, result: "running" };
}

/** A check's result when its time is up: passed if it measured enough, inconclusive otherwise. */
export function conclude(t: CheckTally, limits: CheckLimits): CheckTally {
  if (t.result !== "running") return t;
  const enough = limits.count === undefined ? t.passes > 0 : t.passes >= limits.count;
  return { ...t, result: enough ? "passed" : "inconclusive" };
}
