/**
 * Publishes a node's per-service, per-color traffic counters to etcd (`stats/<service>/<node>`,
 * stats-record.ts) so that the fleet's leader can judge a canary on every node's traffic. Once a
 * second it reads its proxy's cumulative counters and writes one key per service whose counters
 * moved since its last write (an idle service costs nothing), up to MAX_PUT_MANY keys in one
 * transaction: 1,000 busy services are 10 writes to etcd, not 1,000. The keys live on a lease of
 * the node's TTL: a node that dies drops out when it expires, one that stops revokes it at once.
 */

import { randomUUID } from "node:crypto";
import type { Clock, Timer } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { isTealError } from "../domain/errors.ts";
import type { TrafficCounts } from "../domain/window-stats.ts";
import { type LeaseId, MAX_PUT_MANY, type Store } from "../store/store.ts";
import { encodeStats, statsKey } from "./stats-record.ts";

/** How often counters are published (and how stale the fleet's view can be). */
export const DEFAULT_STATS_INTERVAL_MS = 1_000;
/** Batches in flight at once (each up to MAX_PUT_MANY keys, one etcd transaction). */
const MAX_PARALLEL_BATCHES = 4;

/** What the publisher reads of a data plane's status: each service's cumulative counters. */
export interface ServiceCounters {
  readonly service: string;
  readonly stats: Readonly<Record<Color, TrafficCounts>>;
}

export interface StatsPublisherOptions {
  readonly node: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  /** The node's own proxy's counters (several workers' already added up). */
  readonly counters: () => Promise<readonly ServiceCounters[]>;
  readonly intervalMs?: number;
  /** Told once when publishing starts failing (etcd out of reach), not on every pass. */
  readonly onWarning?: (message: string, err: unknown) => void;
}

export class StatsPublisher {
  readonly #store: Store;
  readonly #options: StatsPublisherOptions;
  /** A fresh one per process: a reader seeing a new boot knows the counters started again from 0. */
  readonly #boot = randomUUID();
  /** Per service, the request total last written under the current lease. */
  readonly #written = new Map<string, number>();
  #lease: LeaseId | undefined;
  #keptAliveAtMs = 0;
  #timer: Timer | undefined;
  #failing = false;
  #closed = false;

  constructor(store: Store, options: StatsPublisherOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Publishes at once and then on every interval; never rejects (etcd may be out of reach). */
  start(): void {
    void this.#pass();
  }

  /** Stops publishing and revokes the lease: the node's counters leave the fleet's view at once. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    if (this.#lease !== undefined) await this.#store.revokeLease(this.#lease).catch(() => {});
  }

  async #pass(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#keepLease();
      await this.#publish(await this.#options.counters());
      this.#failing = false;
    } catch (err) {
      if (isTealError(err, "LEASE_NOT_FOUND")) this.#lease = undefined;
      if (!this.#failing) this.#options.onWarning?.("could not publish traffic counters to etcd", err);
      this.#failing = true;
    }
    if (this.#closed) return;
    // A third of the TTL at most: the same pass keeps the lease alive.
    const everyMs = Math.min(
      this.#options.intervalMs ?? DEFAULT_STATS_INTERVAL_MS,
      Math.floor(this.#options.ttlMs / 3),
    );
    this.#timer = this.#options.clock.setTimeout(() => void this.#pass(), everyMs);
  }

  async #keepLease(): Promise<void> {
    const now = this.#options.clock.now();
    if (this.#lease !== undefined && now - this.#keptAliveAtMs >= this.#options.ttlMs / 3 - 50) {
      try {
        await this.#store.keepAlive(this.#lease);
        this.#keptAliveAtMs = now;
      } catch (err) {
        if (!isTealError(err, "LEASE_NOT_FOUND")) throw err;
        this.#lease = undefined;
      }
    }
    if (this.#lease === undefined) {
      // Expired (or never granted): its keys are gone, so every service is written again.
      this.#lease = await this.#store.grantLease(this.#options.ttlMs);
      this.#keptAliveAtMs = now;
      this.#written.clear();
    }
  }

  async #publish(services: readonly ServiceCounters[]): Promise<void> {
    const lease = this.#lease!;
    const time = new Date(this.#options.clock.now()).toISOString();
    const moved = services.filter((s) => total(s) !== (this.#written.get(s.service) ?? 0));
    const batches: ServiceCounters[][] = [];
    for (let i = 0; i < moved.length; i += MAX_PUT_MANY) batches.push(moved.slice(i, i + MAX_PUT_MANY));
    for (let i = 0; i < batches.length; i += MAX_PARALLEL_BATCHES) {
      await Promise.all(
        batches.slice(i, i + MAX_PARALLEL_BATCHES).map(async (batch) => {
          const entries = batch.map((s) => ({
            key: statsKey(s.service, this.#options.node),
            value: encodeStats({ boot: this.#boot, time, colors: s.stats }),
            lease,
          }));
          await this.#store.putMany(entries);
          for (const s of batch) this.#written.set(s.service, total(s));
        }),
      );
    }
  }
}

/** Completed responses of both colors: when it moves, the service had traffic. */
function total(s: ServiceCounters): number {
  let n = 0;
  for (const counts of Object.values(s.stats)) for (const c of counts.byClass) n += c;
  return n;
}
