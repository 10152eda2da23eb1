/**
 * A node's traffic counters for one service in etcd: `stats/<service>/<node>` holds, per color,
 * the cumulative responses by status class and the latency histogram's bucket counts since the
 * node's proxy started (`boot` names that start), e.g.
 * `{"boot":"…","time":"…","colors":{"green":{"byClass":[0,0,120,0,0,3],"latency":[[14,80],[15,43]]}}}`.
 * Counters add across nodes because the histogram's buckets are fixed (domain/latency-histogram).
 * Service first in the key: the analysis reads one service's prefix, every node's counters at once.
 */

import { BUCKET_COUNT, emptyCounts } from "../domain/latency-histogram.ts";
import type { TrafficCounts } from "../domain/window-stats.ts";

export const STATS_PREFIX = "stats/";
export const statsKey = (service: string, node: string): string => `${STATS_PREFIX}${service}/${node}`;
export const serviceStatsPrefix = (service: string): string => `${STATS_PREFIX}${service}/`;

export interface StatsRecord {
  /** Changes when the node's proxy restarts (its counters start from 0 again). */
  readonly boot: string;
  /** When the node wrote it (ISO 8601, the node's clock; for people, not for arithmetic). */
  readonly time: string;
  readonly colors: Readonly<Record<string, TrafficCounts>>;
}

/** The JSON of a record; latency buckets as [index, count] pairs of the non-empty ones (most are). */
export function encodeStats(record: StatsRecord): string {
  const colors: Record<string, { byClass: readonly number[]; latency: [number, number][] }> = {};
  for (const [color, counts] of Object.entries(record.colors)) {
    const latency: [number, number][] = [];
    counts.latencyBuckets.forEach((n, i) => {
      if (n > 0) latency.push([i, n]);
    });
    colors[color] = { byClass: counts.byClass, latency };
  }
  return JSON.stringify({ boot: record.boot, time: record.time, colors });
}

/** The record in a `stats/*` value, or undefined if it is not one (a reader skips it). */
export function parseStats(value: string): StatsRecord | undefined {
  try {
    const r = JSON.parse(value) as { boot?: unknown; time?: unknown; colors?: unknown };
    if (typeof r.boot !== "string" || typeof r.time !== "string") return undefined;
    if (typeof r.colors !== "object" || r.colors === null) return undefined;
    const colors: Record<string, TrafficCounts> = {};
    for (const [color, c] of Object.entries(r.colors as Record<string, unknown>)) {
      const counts = parseCounts(c);
      if (counts === undefined) return undefined;
      colors[color] = counts;
    }
    return { boot: r.boot, time: r.time, colors };
  } catch {
    return undefined;
  }
}

function parseCounts(c: unknown): TrafficCounts | undefined {
  const { byClass, latency } = (c ?? {}) as { byClass?: unknown; latency?: unknown };
  if (!Array.isArray(byClass) || byClass.length !== 6 || !byClass.every(isCount)) return undefined;
  if (!Array.isArray(latency)) return undefined;
  const latencyBuckets = emptyCounts();
  for (const pair of latency) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined;
    const [i, n] = pair as unknown[];
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= BUCKET_COUNT || !isCount(n)) {
      return undefined;
    }
    latencyBuckets[i as number] = n as number;
  }
  return { byClass: byClass as number[], latencyBuckets };
}

const isCount = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
