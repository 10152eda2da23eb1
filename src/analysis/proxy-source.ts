/**
 * teal's own metrics as a metric source: per-color counters and latency histograms from the
 * proxy, sampled over time, so that any window's error rate and percentiles come from two
 * cumulative snapshots. No external metrics system is needed.
 */

import type { CheckConfig } from "../config/schema.ts";
import type { Measurement } from "../domain/analysis.ts";
import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { errorRate, type WindowStats, windowStats } from "../domain/window-stats.ts";
import type { ColorStatsSnapshot } from "../proxy/color-stats.ts";
import type { ServiceRuntimeStatus } from "../proxy/data-plane.ts";
import type { MeasureContext, MetricSource } from "./metric-source.ts";

interface Sample {
  readonly atMs: number;
  readonly stats: Readonly<Record<Color, ColorStatsSnapshot>>;
}

/** Samples older than this are dropped; no window is longer. */
const KEEP_MS = 60 * 60_000;

export class ProxySource implements MetricSource {
  readonly #status: () => Promise<readonly ServiceRuntimeStatus[]>;
  readonly #clock: Clock;
  readonly #samples = new Map<string, Sample[]>();

  constructor(status: () => Promise<readonly ServiceRuntimeStatus[]>, clock: Clock) {
    this.#status = status;
    this.#clock = clock;
  }

  /** Takes a sample now: call when traffic starts to move, so the first window has a start. */
  async sample(service: string): Promise<void> {
    await this.#take(service);
  }

  async measure(check: CheckConfig, ctx: MeasureContext): Promise<Measurement> {
    const metric = check.metric;
    if (metric === undefined) return { value: null, sampleSize: null, error: "not a proxy metric check" };
    const now = await this.#take(ctx.service);
    if (!now) return { value: null, sampleSize: null, error: `no proxy status for ${ctx.service}` };
    const base = this.#baseFor(ctx.service, now.atMs - ctx.windowMs);
    const candidate = windowStats(base?.stats[ctx.color], now.stats[ctx.color]);
    const stable = windowStats(base?.stats[ctx.stableColor], now.stats[ctx.stableColor]);
    return {
      value: metricValue(metric, candidate, check.include4xx),
      sampleSize: candidate.requests,
      stableValue: metricValue(metric, stable, check.include4xx),
      stableSampleSize: stable.requests,
    };
  }

  /** Forgets a service's samples (its rollout ended). */
  forget(service: string): void {
    this.#samples.delete(service);
  }

  async #take(service: string): Promise<Sample | undefined> {
    const status = (await this.#status()).find((s) => s.service === service);
    if (!status) return undefined;
    const sample = { atMs: this.#clock.now(), stats: status.stats };
    const list = (this.#samples.get(service) ?? []).filter((s) => s.atMs >= sample.atMs - KEEP_MS);
    list.push(sample);
    this.#samples.set(service, list);
    return sample;
  }

  /** The latest sample at or before `fromMs`, else the oldest one (a window longer than history). */
  #baseFor(service: string, fromMs: number): Sample | undefined {
    const list = this.#samples.get(service) ?? [];
    let base: Sample | undefined;
    for (const s of list) if (s.atMs <= fromMs) base = s;
    return base ?? list[0];
  }
}

function metricValue(
  metric: NonNullable<CheckConfig["metric"]>,
  w: WindowStats,
  include4xx: boolean,
): number | null {
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
