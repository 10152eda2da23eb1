/** Per service-and-color traffic counters, cumulative since start, cheap to update per request. */

import { bucketIndex, emptyCounts } from "../domain/latency-histogram.ts";

export interface ColorStatsSnapshot {
  /** Completed responses by status class: index 1..5 for 1xx..5xx. */
  readonly byClass: readonly number[];
  /** Requests the client abandoned before the response finished (logged as 499). */
  readonly clientAborted: number;
  readonly inFlight: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly latencyBuckets: readonly number[];
}

export class ColorStats {
  readonly byClass = [0, 0, 0, 0, 0, 0];
  clientAborted = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly latencyBuckets = emptyCounts();
  /** The last snapshot, handed out again while nothing changed (an idle service allocates nothing). */
  #snapshot: ColorStatsSnapshot | undefined;

  record(status: number, latencyMs: number, bytesIn: number, bytesOut: number): void {
    this.#snapshot = undefined;
    if (status === 499) this.clientAborted++;
    else this.byClass[Math.min(5, Math.max(1, Math.floor(status / 100)))]!++;
    this.latencyBuckets[bucketIndex(latencyMs)]!++;
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
  }

  /** `inFlight` comes from the service's in-flight list, the one place that knows it. Do not mutate. */
  snapshot(inFlight: number): ColorStatsSnapshot {
    const last = this.#snapshot;
    if (last !== undefined && last.inFlight === inFlight) return last;
    this.#snapshot = {
      byClass: [...this.byClass],
      clientAborted: this.clientAborted,
      inFlight,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      latencyBuckets: [...this.latencyBuckets],
    };
    return this.#snapshot;
  }
}

/** Adds snapshots from several processes into one. */
export function mergeSnapshots(parts: readonly ColorStatsSnapshot[]): ColorStatsSnapshot {
  const byClass = [0, 0, 0, 0, 0, 0];
  const latencyBuckets = emptyCounts();
  let clientAborted = 0;
  let inFlight = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  for (const p of parts) {
    p.byClass.forEach((n, i) => {
      byClass[i]! += n;
    });
    p.latencyBuckets.forEach((n, i) => {
      latencyBuckets[i]! += n;
    });
    clientAborted += p.clientAborted;
    inFlight += p.inFlight;
    bytesIn += p.bytesIn;
    bytesOut += p.bytesOut;
  }
  return { byClass, clientAborted, inFlight, bytesIn, bytesOut, latencyBuckets };
}
