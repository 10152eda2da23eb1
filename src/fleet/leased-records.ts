/**
 * Keys a node owns while it lives: each is written on one lease the node keeps alive three times
 * per TTL. When the lease expires anyway (the node was cut off from etcd for a TTL), the keys are
 * gone from etcd; once etcd answers again a new lease is granted and every key written again.
 * Writes run one at a time, and only the newest value of a key is written.
 */

import { isTealError } from "../domain/errors.ts";
import type { LeaseId, Store } from "../store/store.ts";

export class LeasedRecords {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown) => void;
  /** What etcd should hold: the value, or undefined for a key to delete. */
  readonly #wanted = new Map<string, string | undefined>();
  /** What this lease holds as written. */
  readonly #written = new Map<string, string>();
  #lease: LeaseId | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> | undefined;
  #again = false;
  /**
   * A keep-alive asked for while a pass was busy: the next pass keeps the lease alive too. Reports
   * are written often (and a write can wait seconds while etcd elects a leader): dropping the
   * keep-alive of every tick that found a write under way let the lease expire.
   */
  #againKeepAlive = false;
  #closed = false;

  constructor(store: Store, ttlMs: number, onError: (err: unknown) => void) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#onError = onError;
  }

  start(): void {
    this.#timer = setInterval(() => void this.sync(true), Math.max(200, Math.floor(this.#ttlMs / 3)));
  }

  /** Resolves once etcd holds the value (or the attempt failed; the next keep-alive retries). */
  put(key: string, value: string): Promise<void> {
    this.#wanted.set(key, value);
    return this.sync(false);
  }

  delete(key: string): Promise<void> {
    if (!this.#wanted.has(key)) return Promise.resolve();
    this.#wanted.set(key, undefined);
    return this.sync(false);
  }

  /** One pass at a time; a request during a pass runs one more pass after it. */
  sync(keepAlive: boolean): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      this.#againKeepAlive ||= keepAlive;
      return this.#busy;
    }
    this.#busy = (async () => {
      let alive = keepAlive;
      do {
        this.#again = false;
        this.#againKeepAlive = false;
        await this.#pass(alive).catch(this.#onError);
        alive = this.#againKeepAlive;
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#busy = undefined;
    });
    return this.#busy;
  }

  /** Stops keeping the lease alive and revokes it: every key goes at once. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#busy;
    if (this.#lease !== undefined) await this.#store.revokeLease(this.#lease).catch(() => {});
  }

  async #pass(keepAlive: boolean): Promise<void> {
    if (this.#closed) return;
    if (this.#lease !== undefined && keepAlive) {
      try {
        await this.#store.keepAlive(this.#lease);
      } catch (err) {
        if (!isTealError(err, "LEASE_NOT_FOUND")) throw err;
        // Expired while etcd was out of reach: its keys are gone; a new lease brings them back.
        this.#lease = undefined;
      }
    }
    if (this.#lease === undefined) {
      if (![...this.#wanted.values()].some((v) => v !== undefined)) return;
      this.#lease = await this.#store.grantLease(this.#ttlMs);
      this.#written.clear();
    }
    for (const [key, value] of [...this.#wanted]) {
      if (value === undefined) {
        if (this.#written.has(key)) await this.#store.delete(key);
        this.#written.delete(key);
        if (this.#wanted.get(key) === undefined) this.#wanted.delete(key);
      } else if (this.#written.get(key) !== value) {
        await this.#store.put(key, value, { lease: this.#lease });
        this.#written.set(key, value);
      }
    }
  }
}
