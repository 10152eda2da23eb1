/**
 * HAProxy's per-server counters turned into teal's per-color snapshots. HAProxy's counters start
 * over when it restarts or reloads; these never decrease, so windows over a restart stay right.
 */

import type { Color } from "../../domain/color.ts";
import { emptyCounts } from "../../domain/latency-histogram.ts";
import type { ColorStatsSnapshot } from "../../traffic/color-stats.ts";
import type { ServerStat } from "./servers-state.ts";

interface Totals {
  byClass: number[];
  clientAborted: number;
  bytesIn: number;
  bytesOut: number;
}

const zero = (): Totals => ({ byClass: [0, 0, 0, 0, 0, 0], clientAborted: 0, bytesIn: 0, bytesOut: 0 });

export class ServerCounters {
  readonly #last = new Map<string, ServerStat>();
  readonly #totals: Record<Color, Totals> = { blue: zero(), green: zero() };

  /** Adds what each server served since the last call; `colorOf` maps a server to its color. */
  add(stats: readonly ServerStat[], colorOf: (s: ServerStat) => Color | undefined): void {
    for (const s of stats) {
      const color = colorOf(s);
      if (color === undefined) continue;
      const key = `${s.backend}/${s.name}`;
      const last = this.#last.get(key);
      const restarted = last !== undefined && s.byClass.some((n, i) => n < last.byClass[i]!);
      const base = last === undefined || restarted ? undefined : last;
      const t = this.#totals[color];
      s.byClass.forEach((n, i) => {
        t.byClass[i]! += n - (base?.byClass[i] ?? 0);
      });
      t.clientAborted += Math.max(0, s.clientAborted - (base?.clientAborted ?? 0));
      t.bytesIn += Math.max(0, s.bytesIn - (base?.bytesIn ?? 0));
      t.bytesOut += Math.max(0, s.bytesOut - (base?.bytesOut ?? 0));
      this.#last.set(key, s);
    }
  }

  /** HAProxy keeps no latency histogram per server: the buckets stay empty (a declared capability). */
  snapshot(color: Color, inFlight: number): ColorStatsSnapshot {
    const t = this.#totals[color];
    return { ...t, byClass: [...t.byClass], inFlight, latencyBuckets: emptyCounts() };
  }
}
