/** The write transactions of a table-backed store, as pure steps over StoreTables. */

import { TealError } from "../domain/errors.ts";
import type { KeyValue, LeaseId, PutOptions, WatchEvent, WriteResult } from "./store.ts";
import type { LeaseRow, StoreTables } from "./tables.ts";

/** What a write returns to its caller, and the events to publish once it has committed. */
export interface Outcome<T> {
  readonly result: T;
  readonly events: readonly WatchEvent[];
}

/** The lease, or LEASE_NOT_FOUND if it expired or was revoked. */
export function requireLease(tables: StoreTables, id: LeaseId): LeaseRow {
  const row = tables.getLease(id);
  if (row === undefined) {
    throw new TealError("LEASE_NOT_FOUND", `lease ${id} has expired or was revoked`, {
      details: { lease: id },
    });
  }
  return row;
}

/**
 * Runs inside `tables.transaction`. Every step checks its preconditions before its first
 * mutation, and each successful change takes the next revision (one per call, however many keys).
 */
export class TableWriter {
  readonly #tables: StoreTables;
  readonly #historyLimit: number;

  /** @param historyLimit most recent revisions kept in the change log */
  constructor(tables: StoreTables, historyLimit: number) {
    this.#tables = tables;
    this.#historyLimit = historyLimit;
  }

  put(key: string, value: string, options: PutOptions): Outcome<WriteResult> {
    const current = this.#tables.getKv(key);
    const guard = options.requireKey;
    if (guard !== undefined && (this.#tables.getKv(guard.key)?.modRevision ?? 0) !== guard.modRevision) {
      return {
        result: { ok: false, revision: this.#tables.revision(), current, guardFailed: true },
        events: [],
      };
    }
    const failed = this.#compare(current, options.expectModRevision);
    if (failed) return failed;
    if (options.lease !== undefined) requireLease(this.#tables, options.lease);
    const revision = this.#tables.revision() + 1;
    const kv: KeyValue = {
      key,
      value,
      createRevision: current?.createRevision ?? revision,
      modRevision: revision,
      version: (current?.version ?? 0) + 1,
      lease: options.lease,
    };
    this.#tables.putKv(kv);
    return this.#commit(revision, [{ type: "put", revision, kv }], { ok: true, revision, kv });
  }

  delete(key: string, expectModRevision: number | undefined): Outcome<WriteResult> {
    const current = this.#tables.getKv(key);
    const failed = this.#compare(current, expectModRevision);
    if (failed) return failed;
    // Deleting a missing key changes nothing, so it does not bump the revision.
    if (current === undefined) {
      return { result: { ok: true, revision: this.#tables.revision(), kv: undefined }, events: [] };
    }
    const revision = this.#tables.revision() + 1;
    this.#tables.deleteKv(key);
    return this.#commit(revision, [{ type: "delete", revision, key }], { ok: true, revision, kv: undefined });
  }

  /** Deletes a lease and, at one new revision, every key attached to it. */
  revoke(lease: LeaseId): Outcome<void> {
    const keys = this.#tables.keysOfLease(lease);
    this.#tables.deleteLease(lease);
    if (keys.length === 0) return { result: undefined, events: [] };
    const revision = this.#tables.revision() + 1;
    for (const key of keys) this.#tables.deleteKv(key);
    const events = keys.map((key): WatchEvent => ({ type: "delete", revision, key }));
    return this.#commit(revision, events, undefined);
  }

  /** Revokes every lease whose deadline is at or before nowMs; the result is how many. */
  expire(nowMs: number): Outcome<number> {
    const expired = this.#tables.expiredLeases(nowMs);
    const events = expired.flatMap((lease) => this.revoke(lease.id).events);
    return { result: expired.length, events };
  }

  #compare(current: KeyValue | undefined, expected: number | undefined): Outcome<WriteResult> | undefined {
    if (expected === undefined || (current?.modRevision ?? 0) === expected) return undefined;
    return { result: { ok: false, revision: this.#tables.revision(), current }, events: [] };
  }

  /** Records a change's events in the log, advances the revision and drops history past the limit. */
  #commit<T>(revision: number, events: readonly WatchEvent[], result: T): Outcome<T> {
    for (const event of events) this.#tables.appendChange(event);
    this.#tables.setRevision(revision);
    const keepAfter = revision - this.#historyLimit;
    if (keepAfter > this.#tables.compactedRevision()) this.#tables.compactChanges(keepAfter);
    return { result, events };
  }
}
