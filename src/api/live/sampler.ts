/**
 * The one live sampler of a server: once a second it reads the data plane's cumulative counters,
 * turns the difference from the previous read into rates and percentiles per service and color,
 * and keeps the last minutes in a ring so that a page opened mid-canary has history at once.
 * Every viewer shares it; with no viewer it costs one status read per interval.
 */

import { EventEmitter } from "node:events";
import { COLORS, type Color } from "../../domain/color.ts";
import { errorRate, windowStats } from "../../domain/window-stats.ts";
import type { ColorStatsSnapshot } from "../../proxy/color-stats.ts";
import type { ServiceRuntimeStatus } from "../../proxy/data-plane.ts";
import type { ColorPoint, LiveHistory, LiveMarker, LiveSample } from "./live-types.ts";

export interface LiveSamplerOptions {
  readonly runtime: () => Promise<readonly ServiceRuntimeStatus[]>;
  /** Default 1000. */
  readonly intervalMs?: number;
  /** How far back the ring reaches; default 5 minutes. */
  readonly historyMs?: number;
  readonly now?: () => number;
  readonly onError?: (err: unknown) => void;
}

export type LiveListener = (
  item: { kind: "sample"; sample: LiveSample } | { kind: "marker"; marker: LiveMarker },
) => void;

export class LiveSampler {
  readonly intervalMs: number;
  readonly #options: LiveSamplerOptions;
  readonly #now: () => number;
  readonly #samples: LiveSample[] = [];
  readonly #markers: LiveMarker[] = [];
  readonly #feed = new EventEmitter();
  #previous = new Map<string, Record<Color, ColorStatsSnapshot>>();
  #previousAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #cost = { ticks: 0, totalMs: 0 };

  constructor(options: LiveSamplerOptions) {
    this.#options = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#feed.setMaxListeners(0);
  }

  start(): void {
    if (this.#timer) return;
    // unref: a sampler alone never keeps the process alive.
    this.#timer = setInterval(() => void this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#feed.removeAllListeners();
  }

  /** One sampling step (the timer calls it; tests call it directly). */
  async tick(): Promise<void> {
    if (this.#ticking) return; // a slow status read never piles up reads
    this.#ticking = true;
    try {
      const runtime = await this.#options.runtime();
      const started = performance.now();
      const at = this.#now();
      const services: Record<string, Record<Color, ColorPoint>> = {};
      const next = new Map<string, Record<Color, ColorStatsSnapshot>>();
      const seconds = this.#previousAt === 0 ? 0 : (at - this.#previousAt) / 1000;
      for (const r of runtime) {
        const before = this.#previous.get(r.service);
        next.set(r.service, r.stats);
        const point = (c: Color) => pointOf(before?.[c], r.stats[c], seconds);
        services[r.service] = Object.fromEntries(COLORS.map((c) => [c, point(c)])) as Record<
          Color,
          ColorPoint
        >;
      }
      this.#previous = next;
      this.#previousAt = at;
      if (seconds > 0) {
        const sample: LiveSample = { at, services };
        this.#push(this.#samples, sample, at);
        this.#feed.emit("item", { kind: "sample", sample });
      }
      this.#cost.ticks++;
      this.#cost.totalMs += performance.now() - started;
    } catch (err) {
      this.#options.onError?.(err);
    } finally {
      this.#ticking = false;
    }
  }

  mark(marker: Omit<LiveMarker, "at"> & { at?: number }): void {
    const m: LiveMarker = { ...marker, at: marker.at ?? this.#now() };
    this.#push(this.#markers, m, m.at);
    this.#feed.emit("item", { kind: "marker", marker: m });
  }

  history(): LiveHistory {
    return { intervalMs: this.intervalMs, samples: [...this.#samples], markers: [...this.#markers] };
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: LiveListener): () => void {
    this.#feed.on("item", listener);
    return () => this.#feed.off("item", listener);
  }

  get subscribers(): number {
    return this.#feed.listenerCount("item");
  }

  /** CPU spent computing samples (the status read excluded), for the cost figures in the README. */
  get cost(): { ticks: number; meanMs: number } {
    const { ticks, totalMs } = this.#cost;
    return { ticks, meanMs: ticks === 0 ? 0 : totalMs / ticks };
  }

  #push<T>(ring: T[], item: T, at: number): void {
    ring.push(item);
    const horizon = at - (this.#options.historyMs ?? 300_000);
    while (ring.length > 0 && (ring[0] as { at: number }).at < horizon) ring.shift();
  }
}

function pointOf(
  before: ColorStatsSnapshot | undefined,
  now: ColorStatsSnapshot,
  seconds: number,
): ColorPoint {
  // A proxy worker that was respawned starts its counters again at 0: no honest point for that second.
  if (before && now.byClass.some((n, i) => n < (before.byClass[i] ?? 0)))
    return { rps: 0, errorRate: null, p50Ms: null, p99Ms: null };
  const w = windowStats(before, now);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    rps: seconds > 0 ? Math.round((w.requests / seconds) * 10) / 10 : 0,
    errorRate: errorRate(w, false),
    p50Ms: round(w.p50Ms),
    p99Ms: round(w.p99Ms),
  };
}
