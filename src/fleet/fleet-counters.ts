/**
 * The fleet's traffic for one service, as one set of cumulative per-color counters: what the
 * analysis samples instead of its own proxy's counters when teal runs on etcd. Each read lists
 * `stats/<service>/` (every live node's counters, stats-record.ts) and adds to the fleet's total
 * what each node served since the previous read, so the total only ever grows:
 * - a node seen before with the same boot adds its increase (never less than 0 per counter);
 * - a node that restarted (a new boot) adds everything since its restart;
 * - a node whose key is gone (its lease expired, it stopped) adds nothing more: it drops out of
 *   the rates, and its earlier requests, which did happen, stay counted.
 * So neither a restart nor a node leaving makes a window's rate negative or jump.
 */

import type { Color } from "../domain/color.ts";
import { emptyCounts } from "../domain/latency-histogram.ts";
import type { TrafficCounts } from "../domain/window-stats.ts";
import type { Store } from "../store/store.ts";
import type { ServiceCounters } from "./stats-publisher.ts";
import { parseStats, serviceStatsPrefix } from "./stats-record.ts";

const COLORS: readonly Color[] = ["blue", "green"];

interface Counts {
  readonly byClass: number[];
  readonly latencyBuckets: number[];
}

interface NodeSeen {
  readonly boot: string;
  readonly colors: Readonly<Record<string, TrafficCounts>>;
}

interface ServiceTotal {
  /** The store revision of the newest list added in: an older answer arriving later is ignored. */
  revision: number;
  readonly nodes: Map<string, NodeSeen>;
  readonly total: Record<Color, Counts>;
}

export class FleetCounters {
  readonly #store: Store;
  readonly #services = new Map<string, ServiceTotal>();

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * The fleet's cumulative counters of `service` (zero before any node served it), in the shape
   * of a data plane's status so that the proxy metric source reads them unchanged. Rejects when
   * etcd cannot be read: the source then answers that it cannot measure.
   */
  async read(service: string): Promise<readonly ServiceCounters[]> {
    const { items, revision } = await this.#store.list(serviceStatsPrefix(service));
    const s = this.#totalOf(service);
    if (revision >= s.revision) {
      s.revision = revision;
      for (const kv of items) {
        const node = kv.key.slice(serviceStatsPrefix(service).length);
        const record = parseStats(kv.value);
        if (record === undefined || node.length === 0) continue;
        const before = s.nodes.get(node);
        const since = before?.boot === record.boot ? before.colors : undefined;
        for (const color of COLORS) add(s.total[color], record.colors[color], since?.[color]);
        s.nodes.set(node, { boot: record.boot, colors: record.colors });
      }
    }
    return [{ service, stats: { blue: copy(s.total.blue), green: copy(s.total.green) } }];
  }

  #totalOf(service: string): ServiceTotal {
    let s = this.#services.get(service);
    if (s === undefined) {
      s = { revision: 0, nodes: new Map(), total: { blue: zero(), green: zero() } };
      this.#services.set(service, s);
    }
    return s;
  }
}

/** Adds to `total` what a node's counters grew by since `since` (all of them without it). */
function add(total: Counts, now: TrafficCounts | undefined, since: TrafficCounts | undefined): void {
  if (now === undefined) return;
  now.byClass.forEach((n, i) => {
    total.byClass[i]! += Math.max(0, n - (since?.byClass[i] ?? 0));
  });
  now.latencyBuckets.forEach((n, i) => {
    total.latencyBuckets[i]! += Math.max(0, n - (since?.latencyBuckets[i] ?? 0));
  });
}

const zero = (): Counts => ({ byClass: [0, 0, 0, 0, 0, 0], latencyBuckets: emptyCounts() });
const copy = (c: Counts): TrafficCounts => ({
  byClass: [...c.byClass],
  latencyBuckets: [...c.latencyBuckets],
});
