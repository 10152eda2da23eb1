/**
 * teal's own metrics as a metric source: per-color counters and latency histograms from the
 * proxy, sampled once a second while a service is under analysis. Any window's error rate and
 * percentiles come from two cumulative samples; consecutive samples make the one-second slices
 * that relative checks compare side by side. No external metrics system is needed, and the
 * proxy's hot path only keeps its cumulative counters (several workers' are merged before here).
 */

import type { CheckConfig } from "../config/schema.ts";
import type { Measurement } from "../domain/analysis.ts";
import type { Clock, Timer } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import {
  type ColorSlice,
  metricValue,
  requestsOf,
  type Slice,
  sharedSample,
  sharedSlices,
} from "../domain/slices.ts";
import type { TrafficCounts } from "../domain/window-stats.ts";
import type { MeasureContext, MetricSource } from "./metric-source.ts";

interface Sample {
  readonly atMs: number;
  readonly stats: Readonly<Record<Color, TrafficCounts>>;
}

/** How often a watched service is sampled: the length of one slice. */
export const SLICE_MS = 1_000;
/** Samples older than the window plus this are dropped (the slice before the window's first). */
const SLACK_MS = 3 * SLICE_MS;

/** What a rollout watches: the new color, and how long its traffic stays out of relative checks. */
export interface WatchOptions {
  readonly color: Color;
  readonly windowMs: number;
  /** Relative checks leave out the new color's first this-many ms of traffic (a fresh process warms up). */
  readonly warmupMs: number;
}

interface Watched extends WatchOptions {
  readonly samples: Sample[];
  timer?: Timer;
  /** Start of the first slice in which the new color served. */
  firstServedAtMs?: number;
  /** The new color has all traffic: no later slice holds concurrent stable traffic. */
  promoted: boolean;
}

/** A service's cumulative per-color counters, as a data plane's status has them. */
export interface ServiceCounters {
  readonly service: string;
  readonly stats: Readonly<Record<Color, TrafficCounts>>;
}

/**
 * Where the counters come from: this process's proxy (its status, every service), or on a fleet
 * the sum of every node's (fleet/fleet-counters.ts, the service asked for).
 */
export type CountersReader = (service: string) => Promise<readonly ServiceCounters[]>;

export class ProxySource implements MetricSource {
  readonly #status: CountersReader;
  readonly #clock: Clock;
  readonly #watched = new Map<string, Watched>();

  constructor(status: CountersReader, clock: Clock) {
    this.#status = status;
    this.#clock = clock;
  }

  /**
   * Samples the service now and then every second until `forget`: call before traffic starts to
   * move, so the first window has a start and the first slices exist.
   */
  async watch(service: string, options: WatchOptions): Promise<void> {
    this.forget(service);
    const w: Watched = { ...options, samples: [], promoted: false };
    this.#watched.set(service, w);
    await this.#tick(service, w);
  }

  /** Marks full promotion: from here relative checks have nothing to compare (inconclusive). */
  promoted(service: string): void {
    const w = this.#watched.get(service);
    if (w) w.promoted = true;
  }

  /** Stops sampling a service and forgets its samples (its rollout ended). */
  forget(service: string): void {
    this.#watched.get(service)?.timer?.cancel();
    this.#watched.delete(service);
  }

  async measure(check: CheckConfig, ctx: MeasureContext): Promise<Measurement> {
    const metric = check.metric;
    if (metric === undefined) return { value: null, sampleSize: null, error: "not a proxy metric check" };
    const now = await this.#take(ctx.service);
    if (!now) return { value: null, sampleSize: null, error: `no proxy status for ${ctx.service}` };
    const watched = this.#watched.get(ctx.service);
    const samples = watched?.samples ?? [];
    const fromMs = now.atMs - ctx.windowMs;
    const window = diff(baseFor(samples, fromMs)?.stats[ctx.color], now.stats[ctx.color]);
    const warmedAtMs =
      watched?.firstServedAtMs === undefined || watched.warmupMs === 0
        ? undefined
        : watched.firstServedAtMs + watched.warmupMs;
    // After full promotion nothing new can be compared; the seconds before were judged already,
    // and judging a shrinking remainder of them again would only add chances of a false alarm.
    const promoted = watched?.promoted ?? false;
    const shared = promoted
      ? []
      : sharedSlices(slicesOf(samples, ctx.color, ctx.stableColor), {
          minRequests: check.minSliceRequests,
          fromMs: Math.max(fromMs, warmedAtMs ?? fromMs),
        });
    return {
      value: metricValue(metric, window, check.include4xx),
      sampleSize: requestsOf(window),
      shared: sharedSample(
        shared,
        metric,
        check.include4xx,
        {
          promoted,
          warmingUp: warmedAtMs !== undefined && warmedAtMs > fromMs,
        },
        check.compare?.tolerance,
      ),
    };
  }

  async #tick(service: string, w: Watched): Promise<void> {
    const sample = await this.#take(service);
    if (this.#watched.get(service) !== w) return; // forgotten meanwhile
    if (sample) {
      const last = w.samples.at(-1);
      if (w.firstServedAtMs === undefined && last && served(last, sample, w.color)) {
        w.firstServedAtMs = last.atMs;
      }
      const cutoff = sample.atMs - w.windowMs - SLACK_MS;
      while (w.samples.length > 0 && w.samples[0]!.atMs < cutoff) w.samples.shift();
      w.samples.push(sample);
    }
    w.timer = this.#clock.setTimeout(() => void this.#tick(service, w), SLICE_MS);
  }

  async #take(service: string): Promise<Sample | undefined> {
    const status = (await this.#status(service).catch(() => [])).find((s) => s.service === service);
    if (!status) return undefined;
    return { atMs: this.#clock.now(), stats: status.stats };
  }
}

/** Whether the color completed or started any request between two samples. */
function served(a: Sample, b: Sample, color: Color): boolean {
  return requestsOf(diff(a.stats[color], b.stats[color])) > 0;
}

/** The latest sample at or before `fromMs`, else the oldest one (a window longer than history). */
function baseFor(samples: readonly Sample[], fromMs: number): Sample | undefined {
  let base: Sample | undefined;
  for (const s of samples) if (s.atMs <= fromMs) base = s;
  return base ?? samples[0];
}

/** Consecutive samples as slices of both colors' traffic. */
function slicesOf(samples: readonly Sample[], color: Color, stableColor: Color): Slice[] {
  const slices: Slice[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    slices.push({
      startMs: a.atMs,
      endMs: b.atMs,
      candidate: diff(a.stats[color], b.stats[color]),
      stable: diff(a.stats[stableColor], b.stats[stableColor]),
    });
  }
  return slices;
}

/** Traffic between two cumulative samples; a restarted worker's reset counters count as zero. */
function diff(from: TrafficCounts | undefined, to: TrafficCounts): ColorSlice {
  return {
    byClass: to.byClass.map((n, i) => Math.max(0, n - (from?.byClass[i] ?? 0))),
    latencyBuckets: to.latencyBuckets.map((n, i) => Math.max(0, n - (from?.latencyBuckets[i] ?? 0))),
  };
}
