/**
 * One analysis: every check measured on its own interval (on the clock), each measurement
 * judged, tallied and reported. Ends failed at the first failing check, passed when every check
 * has its count, and at its deadline passed or inconclusive. A background run has no deadline
 * and only ever ends by failing or being stopped.
 */

import type { CheckConfig } from "../config/schema.ts";
import {
  type CheckLimits,
  type CheckResult,
  type CheckTally,
  type CompareSettings,
  conclude,
  EMPTY_TALLY,
  type Judgement,
  judge,
  type LastComparison,
  type Measurement,
  type Thresholds,
  tally,
} from "../domain/analysis.ts";
import type { Clock, Timer } from "../domain/clock.ts";
import type { MeasureContext, MetricSource } from "./metric-source.ts";

export interface CheckStatus {
  readonly name: string;
  /** "errorRate", "p99", "prometheus", "web". */
  readonly metric: string;
  readonly thresholds: Omit<Thresholds, "minRequests" | "compare"> & { readonly minRequests?: number };
  /** The statistical form, when the check uses it instead of relative thresholds. */
  readonly compare?: CompareSettings;
  readonly tally: CheckTally;
  readonly last: (Judgement & { readonly at: string; readonly measurement: Measurement }) | null;
  /** The latest statistical comparison made, kept when later measurements are inconclusive. */
  readonly comparison?: LastComparison;
}

export type AnalysisOutcome =
  | { readonly result: "passed" }
  | { readonly result: "inconclusive"; readonly checks: readonly CheckStatus[] }
  | { readonly result: "failed"; readonly check: CheckStatus };

export interface AnalysisRunOptions {
  readonly checks: readonly CheckConfig[];
  readonly context: MeasureContext;
  readonly source: (check: CheckConfig) => MetricSource;
  readonly clock: Clock;
  /** Foreground runs end here; undefined: checks without a count need one passing measurement. */
  readonly durationMs?: number;
  /** A background run never passes; it watches until stopped. */
  readonly background?: boolean;
  readonly onMeasurement?: (status: CheckStatus) => void;
}

export function metricName(check: CheckConfig): string {
  return check.metric ?? (check.prometheus ? "prometheus" : "web");
}

export class AnalysisRun {
  readonly #options: AnalysisRunOptions;
  readonly #statuses = new Map<string, CheckStatus>();
  readonly #timers = new Set<Timer>();
  #done = false;
  #resolve!: (outcome: AnalysisOutcome) => void;
  /** Settles once, with how the analysis ended. */
  readonly outcome: Promise<AnalysisOutcome>;

  constructor(options: AnalysisRunOptions) {
    this.#options = options;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    for (const c of options.checks) {
      this.#statuses.set(c.name, {
        name: c.name,
        metric: metricName(c),
        thresholds: thresholdsOf(c),
        ...(c.compare ? { compare: c.compare } : {}),
        tally: EMPTY_TALLY,
        last: null,
      });
    }
  }

  get statuses(): CheckStatus[] {
    return [...this.#statuses.values()];
  }

  start(): this {
    if (this.#options.checks.length === 0 && !this.#options.background) this.#end({ result: "passed" });
    for (const check of this.#options.checks) this.#schedule(check);
    if (this.#options.durationMs !== undefined && !this.#options.background) {
      this.#after(this.#options.durationMs, () => this.#deadline());
    }
    return this;
  }

  /** Ends the run without a verdict (a background run at the end of the rollout). */
  stop(): void {
    this.#end({ result: "passed" });
  }

  #limits(check: CheckConfig): CheckLimits {
    const count =
      check.count ?? (this.#options.durationMs === undefined && !this.#options.background ? 1 : undefined);
    return { count, failureLimit: check.failureLimit, consecutiveErrorLimit: check.consecutiveErrorLimit };
  }

  #schedule(check: CheckConfig): void {
    this.#after(check.interval, () => void this.#measure(check));
  }

  async #measure(check: CheckConfig): Promise<void> {
    if (this.#done) return;
    const { context } = this.#options;
    const measurement = await this.#options.source(check).measure(check, context);
    if (this.#done) return;
    const judgement = judge(metricName(check), measurement, {
      ...thresholdsOf(check),
      compare: check.compare,
      minSlices: check.minSlices,
      minRequests: check.prometheus || check.web ? 0 : check.minRequests,
    });
    const previous = this.#statuses.get(check.name)!;
    const at = new Date(this.#options.clock.now()).toISOString();
    const status: CheckStatus = {
      ...previous,
      tally: tally(previous.tally, judgement.verdict, this.#limits(check)),
      last: { ...judgement, at, measurement },
      ...(judgement.comparison
        ? {
            comparison: { ...judgement.comparison, at, verdict: judgement.verdict, reason: judgement.reason },
          }
        : {}),
    };
    this.#statuses.set(check.name, status);
    this.#options.onMeasurement?.(status);
    if (status.tally.result === "failed") return this.#end({ result: "failed", check: status });
    if (!this.#options.background && this.statuses.every((s) => s.tally.result === "passed")) {
      return this.#end({ result: "passed" });
    }
    if (status.tally.result === "running") this.#schedule(check);
  }

  #deadline(): void {
    for (const check of this.#options.checks) {
      const s = this.#statuses.get(check.name)!;
      this.#statuses.set(check.name, { ...s, tally: conclude(s.tally, this.#limits(check)) });
    }
    const open = this.statuses.filter((s) => s.tally.result !== "passed");
    this.#end(open.length === 0 ? { result: "passed" } : { result: "inconclusive", checks: open });
  }

  #after(ms: number, fn: () => void): void {
    const timer = this.#options.clock.setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #end(outcome: AnalysisOutcome): void {
    if (this.#done) return;
    this.#done = true;
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    this.#resolve(outcome);
  }
}

function thresholdsOf(c: CheckConfig): CheckStatus["thresholds"] {
  const t: Record<string, number> = {};
  for (const key of ["max", "min", "maxAboveStable", "maxRatioToStable", "noiseFloor"] as const) {
    if (c[key] !== undefined) t[key] = c[key];
  }
  if (c.metric !== undefined) t.minRequests = c.minRequests;
  return t as CheckStatus["thresholds"];
}

export type { CheckResult };
