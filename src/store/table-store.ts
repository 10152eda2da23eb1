/** The Store port over StoreTables: call sequencing, lease expiry, watch delivery and lifecycle. */

import { randomUUID } from "node:crypto";
import { TealError } from "../domain/errors.ts";
import { type Clock, systemClock } from "./clock.ts";
import type {
  DeleteOptions,
  KeyGuard,
  KeyValue,
  LeaseId,
  PutManyEntry,
  PutOptions,
  Store,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteManyResult,
  WriteResult,
} from "./store.ts";
import { type Outcome, requireLease, TableWriter } from "./table-writer.ts";
import type { StoreTables } from "./tables.ts";
import { WatchHub } from "./watch-hub.ts";

/** Options shared by every table-backed adapter. */
export interface TableStoreOptions {
  /** Time source for lease deadlines (default `Date.now`). */
  readonly clock?: Clock;
  /** Most recent revisions kept in the change log for watch replay (default 10,000). */
  readonly historyLimit?: number;
  /** Period of the background sweep of expired leases; 0 disables it (default 1,000 ms). */
  readonly leaseSweepIntervalMs?: number;
  /** Receives errors nobody awaits: a throwing watch listener, a failed sweep (default: a process warning). */
  readonly onError?: (err: unknown) => void;
}

function reportAsWarning(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err), "TealStoreWarning");
}

/**
 * Implements Store once for every table-backed adapter. Each write is one `tables.transaction`;
 * its watch events are published only after it commits. Listeners run synchronously, in
 * revision order, before the write's promise resolves. Expired leases are swept at the start of
 * every call, so a key whose lease has run out is never visible.
 */
export class TableStore implements Store {
  readonly #tables: StoreTables;
  readonly #writer: TableWriter;
  readonly #clock: Clock;
  readonly #hub: WatchHub;
  readonly #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(tables: StoreTables, options: TableStoreOptions = {}) {
    const onError = options.onError ?? reportAsWarning;
    this.#tables = tables;
    this.#writer = new TableWriter(tables, Math.max(1, options.historyLimit ?? 10_000));
    this.#clock = options.clock ?? systemClock;
    this.#hub = new WatchHub(onError);
    const intervalMs = options.leaseSweepIntervalMs ?? 1_000;
    if (intervalMs > 0) {
      this.#sweep = setInterval(() => {
        try {
          if (!this.#closed) this.#expire();
        } catch (err) {
          onError(err);
        }
      }, intervalMs).unref();
    }
  }

  async revision(): Promise<number> {
    this.#enter();
    return this.#tables.revision();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#enter();
    return this.#tables.getKv(key);
  }

  async list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }> {
    this.#enter();
    return this.#tables.transaction(() => ({
      items: this.#tables.listKv(prefix),
      revision: this.#tables.revision(),
    }));
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    this.#enter();
    return this.#write(() => this.#writer.put(key, value, options));
  }

  async putMany(
    entries: readonly PutManyEntry[],
    options: { readonly requireKey?: KeyGuard } = {},
  ): Promise<WriteManyResult> {
    this.#enter();
    return this.#write(() => this.#writer.putMany(entries, options.requireKey));
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    this.#enter();
    return this.#write(() => this.#writer.delete(key, options));
  }

  async watch(
    prefix: string,
    onEvent: (event: WatchEvent) => void,
    options: WatchOptions = {},
  ): Promise<Watch> {
    this.#enter();
    const { afterRevision } = options;
    const { replay, revision } = this.#tables.transaction(() => {
      const compacted = this.#tables.compactedRevision();
      if (afterRevision !== undefined && afterRevision < compacted) {
        throw new TealError("STORE_COMPACTED", `history after revision ${afterRevision} is compacted`, {
          details: { afterRevision, compactedRevision: compacted },
        });
      }
      const replay = afterRevision === undefined ? [] : this.#tables.changesAfter(afterRevision);
      return { replay, revision: this.#tables.revision() };
    });
    // No await between reading history and subscribing: no write can slip into the gap.
    return this.#hub.subscribe(prefix, onEvent, afterRevision ?? revision, replay);
  }

  async grantLease(ttlMs: number): Promise<LeaseId> {
    this.#enter();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new TealError("INVALID_REQUEST", `lease ttlMs must be > 0, got ${ttlMs}`);
    }
    const id = randomUUID() as LeaseId;
    this.#tables.transaction(() =>
      this.#tables.putLease({ id, ttlMs, expiresAtMs: this.#clock.now() + ttlMs }),
    );
    return id;
  }

  async keepAlive(lease: LeaseId): Promise<void> {
    this.#enter();
    this.#tables.transaction(() => {
      const row = requireLease(this.#tables, lease);
      this.#tables.putLease({ ...row, expiresAtMs: this.#clock.now() + row.ttlMs });
    });
  }

  /** Throws LEASE_NOT_FOUND if the lease has expired or was already revoked (as etcd does). */
  async revokeLease(lease: LeaseId): Promise<void> {
    this.#enter();
    this.#write(() => {
      requireLease(this.#tables, lease);
      return this.#writer.revoke(lease);
    });
  }

  /**
   * Deletes the keys of every lease whose deadline has passed and publishes their delete events.
   * Also runs before every call and on the sweep timer.
   * @returns how many leases expired
   */
  async expireLeases(): Promise<number> {
    this.#assertOpen();
    return this.#expire();
  }

  /** Cancels every watch and stops the sweep; later calls reject with STORE_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#hub.cancelAll();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TealError("STORE_CLOSED", "the store is closed");
  }

  #enter(): void {
    this.#assertOpen();
    this.#expire();
  }

  #expire(): number {
    return this.#write(() => this.#writer.expire(this.#clock.now()));
  }

  /** Runs one write transaction, then publishes its events once it has committed. */
  #write<T>(step: () => Outcome<T>): T {
    const { result, events } = this.#tables.transaction(step);
    this.#hub.publish(events);
    return result;
  }
}
