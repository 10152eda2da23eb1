/**
 * Analysis verdicts, as pure logic: one measurement is judged against a check's thresholds
 * (absolute, and relative to the stable color measured over the same window), and a check's
 * measurements add up to its result. Too little traffic is `inconclusive`, never a pass or a fail.
 */

export type MeasurementVerdict = "pass" | "fail" | "inconclusive" | "error";
export type CheckResult = "running" | "passed" | "failed" | "inconclusive";

export interface Thresholds {
  /** The value must be at most this. */
  readonly max?: number;
  /** The value must be at least this. */
  readonly min?: number;
  /** At most the stable color's value plus this (same unit, e.g. 0.01 = one point of error rate). */
  readonly maxAboveStable?: number;
  /** At most this many times the stable color's value (e.g. 1.5 for "p99 no worse than 1.5x"). */
  readonly maxRatioToStable?: number;
  /** Fewer requests than this in the window (candidate, or stable for relative limits) is inconclusive. */
  readonly minRequests: number;
}

/** What a metric source measured; sample sizes are request counts where the source knows them. */
export interface Measurement {
  readonly value: number | null;
  readonly sampleSize: number | null;
  readonly stableValue?: number | null;
  readonly stableSampleSize?: number | null;
  /** Set when the source could not measure (query failed, endpoint down). */
  readonly error?: string;
}

export interface Judgement {
  readonly verdict: MeasurementVerdict;
  /** Human: the values and the threshold that decided, e.g. "p99 812 ms > 1.5 × stable 240 ms". */
  readonly reason: string;
}

const fmt = (v: number) => String(Number(v.toPrecision(3)));

export function judge(metric: string, m: Measurement, t: Thresholds): Judgement {
  if (m.error !== undefined) return { verdict: "error", reason: m.error };
  if (m.sampleSize !== null && m.sampleSize < t.minRequests) {
    return {
      verdict: "inconclusive",
      reason: `only ${m.sampleSize} requests in the window (need ${t.minRequests})`,
    };
  }
  if (m.value === null) return { verdict: "inconclusive", reason: `no ${metric} value in the window` };
  const v = m.value;
  if (t.max !== undefined && v > t.max) return fail(`${metric} ${fmt(v)} > max ${fmt(t.max)}`);
  if (t.min !== undefined && v < t.min) return fail(`${metric} ${fmt(v)} < min ${fmt(t.min)}`);
  const relative = t.maxAboveStable !== undefined || t.maxRatioToStable !== undefined;
  if (relative) {
    const s = m.stableValue;
    if (m.stableSampleSize != null && m.stableSampleSize < t.minRequests) {
      return {
        verdict: "inconclusive",
        reason: `stable had only ${m.stableSampleSize} requests in the window (need ${t.minRequests})`,
      };
    }
    if (s === null || s === undefined)
      return { verdict: "inconclusive", reason: `no stable ${metric} to compare with` };
    if (t.maxAboveStable !== undefined && v > s + t.maxAboveStable) {
      return fail(`${metric} ${fmt(v)} > stable ${fmt(s)} + ${fmt(t.maxAboveStable)}`);
    }
    if (t.maxRatioToStable !== undefined && v > s * t.maxRatioToStable && v - s > 1e-9) {
      return fail(`${metric} ${fmt(v)} > ${fmt(t.maxRatioToStable)} × stable ${fmt(s)}`);
    }
    return { verdict: "pass", reason: `${metric} ${fmt(v)} (stable ${fmt(s)})` };
  }
  return { verdict: "pass", reason: `${metric} ${fmt(v)}` };
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
