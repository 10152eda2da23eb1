/** The write transactions of a table-backed store, as pure steps over StoreTables. */

import { TealError } from "../domain/errors.ts";
import { sortedBatch } from "./put-many.ts";
import type {
  DeleteOptions,
  KeyGuard,
  KeyValue,
  LeaseId,
  PutManyEntry,
  PutOptions,
  WatchEvent,
  WriteManyResult,
  WriteResult,
} from "./store.ts";
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
    const refused = this.#guard(current, options.requireKey);
    if (refused) return refused;
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

  /** Every entry at one new revision, or none (a failed compare or guard, a missing lease). */
  putMany(entries: readonly PutManyEntry[], guard: KeyGuard | undefined): Outcome<WriteManyResult> {
    const sorted = sortedBatch(entries);
    const revisionNow = this.#tables.revision();
    const guardFailed =
      guard !== undefined && (this.#tables.getKv(guard.key)?.modRevision ?? 0) !== guard.modRevision;
    const current = new Map(sorted.map((e) => [e.key, this.#tables.getKv(e.key)]));
    const conflicts = entries
      .filter(
        (e) =>
          e.expectModRevision !== undefined && (current.get(e.key)?.modRevision ?? 0) !== e.expectModRevision,
      )
      .map((e) => e.key);
    if (guardFailed || conflicts.length > 0) {
      const result: WriteManyResult = guardFailed
        ? { ok: false, revision: revisionNow, conflicts, guardFailed: true }
        : { ok: false, revision: revisionNow, conflicts };
      return { result, events: [] };
    }
    for (const e of sorted) if (e.lease !== undefined) requireLease(this.#tables, e.lease);
    if (sorted.length === 0) return { result: { ok: true, revision: revisionNow, kvs: [] }, events: [] };
    const revision = revisionNow + 1;
    const written = new Map<string, KeyValue>();
    for (const e of sorted) {
      const before = current.get(e.key);
      const kv: KeyValue = {
        key: e.key,
        value: e.value,
        createRevision: before?.createRevision ?? revision,
        modRevision: revision,
        version: (before?.version ?? 0) + 1,
        lease: e.lease,
      };
      this.#tables.putKv(kv);
      written.set(e.key, kv);
    }
    const events = sorted.map((e): WatchEvent => ({ type: "put", revision, kv: written.get(e.key)! }));
    const kvs = entries.map((e) => written.get(e.key)!);
    return this.#commit(revision, events, { ok: true, revision, kvs });
  }

  delete(key: string, options: DeleteOptions): Outcome<WriteResult> {
    const current = this.#tables.getKv(key);
    const refused = this.#guard(current, options.requireKey);
    if (refused) return refused;
    const failed = this.#compare(current, options.expectModRevision);
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

  /** A write refused by its `requireKey` guard (the guard key's modRevision differs, 0: absent). */
  #guard(current: KeyValue | undefined, guard: KeyGuard | undefined): Outcome<WriteResult> | undefined {
    if (guard === undefined || (this.#tables.getKv(guard.key)?.modRevision ?? 0) === guard.modRevision)
      return undefined;
    return {
      result: { ok: false, revision: this.#tables.revision(), current, guardFailed: true },
      events: [],
    };
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
