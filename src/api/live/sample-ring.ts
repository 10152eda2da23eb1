/**
 * The live sampler's history, kept compact: one ring of sample times, and for each service that
 * had traffic within it a typed array of its points in the same slots. A service without traffic
 * holds nothing; its points read as zero. Samples become objects only when someone asks.
 */

import { COLORS, type Color } from "../../domain/color.ts";
import type { ColorPoint, LiveSample } from "./live-types.ts";

/** Per slot and color: requests, 5xx responses, p50 and p99 in µs plus one (0: none). */
const FIELDS = 4;
const STRIDE = FIELDS * COLORS.length;

const ZERO: ColorPoint = Object.freeze({ rps: 0, errorRate: null, p50Ms: null, p99Ms: null });
const ZEROS: Record<Color, ColorPoint> = Object.freeze({ blue: ZERO, green: ZERO });

/** One service's points; `last` is the sequence number of its latest point with traffic. */
interface Series {
  readonly counts: Uint32Array;
  last: number;
}

export class SampleRing {
  /** At most this many samples are kept (the oldest make room). */
  readonly capacity: number;
  readonly #at: Float64Array;
  /** The length of each sample's interval, which turns its request count into a rate. */
  readonly #seconds: Float64Array;
  /** The services each sample lists (the same array for as long as the services stay the same). */
  readonly #rosters: (readonly string[])[];
  readonly #series = new Map<string, Series>();
  /** Sequence numbers: the oldest sample kept, the next one, and the first one not yet complete. */
  #first = 0;
  #next = 0;
  #complete = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#at = new Float64Array(capacity);
    this.#seconds = new Float64Array(capacity);
    this.#rosters = new Array(capacity).fill([]);
  }

  /** Complete samples kept. */
  get size(): number {
    return Math.max(0, this.#complete - this.#first);
  }

  /** Services that hold points (they had traffic within the ring). */
  get servicesWithTraffic(): number {
    return this.#series.size;
  }

  /**
   * Opens the sample of the interval that ended at `at`, for the services in `roster`, all at zero
   * until record() says otherwise; samples older than `horizon` go, and with them the series of
   * services that had no traffic since.
   */
  begin(at: number, seconds: number, roster: readonly string[], horizon: number): void {
    while (this.#first < this.#next && this.#at[this.#first % this.capacity]! < horizon) this.#first++;
    if (this.#next - this.#first === this.capacity) this.#first++;
    const slot = this.#next % this.capacity;
    this.#next++;
    this.#at[slot] = at;
    this.#seconds[slot] = seconds;
    this.#rosters[slot] = roster;
    for (const [service, series] of this.#series) {
      if (series.last < this.#first) this.#series.delete(service);
      else series.counts.fill(0, slot * STRIDE, (slot + 1) * STRIDE);
    }
  }

  /** A point with traffic for the sample begin() opened. */
  record(
    service: string,
    color: number,
    requests: number,
    errors5xx: number,
    p50Ms: number | null,
    p99Ms: number | null,
  ): void {
    let series = this.#series.get(service);
    if (series === undefined) {
      series = { counts: new Uint32Array(this.capacity * STRIDE), last: 0 };
      this.#series.set(service, series);
    }
    const seq = this.#next - 1;
    series.last = seq;
    const at = (seq % this.capacity) * STRIDE + color * FIELDS;
    series.counts[at] = requests;
    series.counts[at + 1] = errors5xx;
    series.counts[at + 2] = microsPlusOne(p50Ms);
    series.counts[at + 3] = microsPlusOne(p99Ms);
  }

  /**
   * The sample begin() opened has all its points: from now on readers see it. (The sampler fills
   * a sample over several turns of the event loop; a page that opens meanwhile gets the samples
   * before it, never one with only some of its services.)
   */
  complete(): void {
    this.#complete = this.#next;
  }

  /** Every complete sample kept, oldest first. */
  samples(): LiveSample[] {
    const out: LiveSample[] = [];
    for (let seq = this.#first; seq < this.#complete; seq++) out.push(this.#sample(seq));
    return out;
  }

  /** The last complete sample. */
  latest(): LiveSample | undefined {
    return this.#complete > this.#first ? this.#sample(this.#complete - 1) : undefined;
  }

  #sample(seq: number): LiveSample {
    const slot = seq % this.capacity;
    const seconds = this.#seconds[slot]!;
    const services: Record<string, Record<Color, ColorPoint>> = {};
    for (const name of this.#rosters[slot]!) {
      const series = this.#series.get(name);
      services[name] =
        series === undefined
          ? ZEROS
          : {
              blue: pointAt(series.counts, slot, 0, seconds),
              green: pointAt(series.counts, slot, 1, seconds),
            };
    }
    return { at: this.#at[slot]!, services };
  }
}

function pointAt(counts: Uint32Array, slot: number, color: number, seconds: number): ColorPoint {
  const at = slot * STRIDE + color * FIELDS;
  const requests = counts[at]!;
  const p50 = counts[at + 2]!;
  const p99 = counts[at + 3]!;
  if (requests === 0 && p50 === 0 && p99 === 0) return ZERO;
  return {
    rps: seconds > 0 ? Math.round((requests / seconds) * 10) / 10 : 0,
    errorRate: requests === 0 ? null : counts[at + 1]! / requests,
    p50Ms: p50 === 0 ? null : (p50 - 1) / 1000,
    p99Ms: p99 === 0 ? null : (p99 - 1) / 1000,
  };
}

/** Latencies are shown to the µs; the histogram's unbounded last bucket stays far below 2^32 µs. */
function microsPlusOne(ms: number | null): number {
  return ms === null ? 0 : Math.min(0xffff_ffff, Math.round(ms * 1000) + 1);
}
