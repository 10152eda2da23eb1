/**
 * The one live sampler of a server: once a second it reads the data plane's cumulative counters,
 * turns the difference from the previous read into rates and percentiles per service and color,
 * and keeps the last minutes (in a compact ring) so that a page opened mid-canary has history at
 * once. Every viewer shares it. A service without traffic costs a comparison of its counters per
 * second and holds no history; with no viewer no sample is made into objects. A busy service
 * costs a pass over its counters (no arrays made), and the pass over all of them yields to the
 * event loop every SLICE services, so that the proxy in this process keeps answering.
 */

import { EventEmitter } from "node:events";
import { COLORS } from "../../domain/color.ts";
import { windowMedianAndP99 } from "../../domain/latency-histogram.ts";
import type { ColorStatsSnapshot } from "../../traffic/color-stats.ts";
import type { ServiceRuntimeStatus } from "../../traffic/status.ts";
import type { LiveHistory, LiveMarker, LiveSample } from "./live-types.ts";
import { SampleRing } from "./sample-ring.ts";

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

type Stats = ServiceRuntimeStatus["stats"];

export class LiveSampler {
  readonly intervalMs: number;
  readonly #options: LiveSamplerOptions;
  readonly #historyMs: number;
  readonly #now: () => number;
  readonly #ring: SampleRing;
  readonly #markers: LiveMarker[] = [];
  readonly #feed = new EventEmitter();
  #previous = new Map<string, Stats>();
  /** The services of the last read, in its order (kept while they stay the same). */
  #roster: readonly string[] = [];
  #previousAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #cost = { ticks: 0, totalMs: 0 };

  constructor(options: LiveSamplerOptions) {
    this.#options = options;
    this.intervalMs = options.intervalMs ?? 1000;
    this.#historyMs = options.historyMs ?? 300_000;
    this.#now = options.now ?? Date.now;
    // One more than the horizon holds at the interval, and one for a late tick.
    this.#ring = new SampleRing(Math.ceil(this.#historyMs / this.intervalMs) + 2);
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

  /**
   * One sampling step (the timer calls it; tests call it directly). The pass over the services
   * runs in slices with a turn of the event loop between them: in `teal server` with one proxy
   * process the proxy shares this loop, and a pass over 1,000 busy services in one go held every
   * request in flight for its whole length once a second (the p99 of README "Performance").
   */
  async tick(): Promise<void> {
    if (this.#ticking) return; // a slow status read never piles up reads
    this.#ticking = true;
    try {
      const runtime = await this.#options.runtime();
      let started = performance.now();
      const at = this.#now();
      const seconds = this.#previousAt === 0 ? 0 : (at - this.#previousAt) / 1000;
      const roster = this.#rosterOf(runtime);
      if (seconds > 0) this.#ring.begin(at, seconds, roster, at - this.#historyMs);
      for (let i = 0; i < runtime.length; i++) {
        if (i > 0 && i % SLICE === 0) {
          this.#cost.totalMs += performance.now() - started;
          await new Promise(setImmediate);
          started = performance.now();
        }
        const r = runtime[i]!;
        const before = this.#previous.get(r.service);
        this.#previous.set(r.service, r.stats);
        if (seconds > 0) this.#record(r.service, before, r.stats);
      }
      this.#previousAt = at;
      if (seconds > 0) {
        this.#ring.complete();
        if (this.#feed.listenerCount("item") > 0) {
          this.#feed.emit("item", { kind: "sample", sample: this.#ring.latest()! });
        }
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
    this.#markers.push(m);
    const horizon = m.at - this.#historyMs;
    while (this.#markers.length > 0 && this.#markers[0]!.at < horizon) this.#markers.shift();
    this.#feed.emit("item", { kind: "marker", marker: m });
  }

  /** The samples and markers of the last minutes, made into objects now (for a page that opens). */
  history(): LiveHistory {
    return { intervalMs: this.intervalMs, samples: this.#ring.samples(), markers: [...this.#markers] };
  }

  /** Services that hold history now: those with traffic within it. */
  get servicesWithHistory(): number {
    return this.#ring.servicesWithTraffic;
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

  /** The same array as before while the services stay the same, so that samples share it. */
  #rosterOf(runtime: readonly ServiceRuntimeStatus[]): readonly string[] {
    const roster = this.#roster;
    if (roster.length === runtime.length && runtime.every((r, i) => r.service === roster[i])) return roster;
    this.#roster = runtime.map((r) => r.service);
    const present = new Set(this.#roster);
    for (const service of this.#previous.keys()) if (!present.has(service)) this.#previous.delete(service);
    return this.#roster;
  }

  #record(service: string, before: Stats | undefined, now: Stats): void {
    for (let c = 0; c < COLORS.length; c++) {
      const color = COLORS[c]!;
      const from = before?.[color];
      const to = now[color];
      // Nothing new (the common case by far): no point to compute, nothing to keep.
      if (from !== undefined && (from === to || sameCounts(from, to))) continue;
      // A proxy worker that was respawned starts its counters again at 0: no honest point for that second.
      if (from !== undefined && to.byClass.some((n, i) => n < (from.byClass[i] ?? 0))) continue;
      // What windowStats() would give, without its arrays of differences (1,000 busy services).
      let requests = 0;
      for (let i = 0; i < to.byClass.length; i++) requests += to.byClass[i]! - (from?.byClass[i] ?? 0);
      const errors5xx = (to.byClass[5] ?? 0) - (from?.byClass[5] ?? 0);
      const { p50Ms, p99Ms } = windowMedianAndP99(from?.latencyBuckets, to.latencyBuckets);
      if (requests === 0 && p50Ms === null) continue;
      this.#ring.record(service, c, requests, errors5xx, p50Ms, p99Ms);
    }
  }
}

/**
 * Services passed over between two turns of the event loop: about 0.5 ms of CPU when all are
 * busy (measured on this project's 2-core machine under load).
 */
const SLICE = 100;

/** No response completed or was abandoned between the two reads (every request counts in one of those). */
function sameCounts(a: ColorStatsSnapshot, b: ColorStatsSnapshot): boolean {
  if (a.clientAborted !== b.clientAborted) return false;
  for (let i = 0; i < b.byClass.length; i++) if (a.byClass[i] !== b.byClass[i]) return false;
  return true;
}
