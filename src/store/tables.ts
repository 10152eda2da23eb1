/**
 * The storage primitives a table-backed store adapter provides (SQLite, memory). All calls are
 * synchronous; `TableStore` builds the etcd-shaped semantics on top of them.
 */

import type { KeyValue, LeaseId, WatchEvent } from "./store.ts";

export interface LeaseRow {
  readonly id: LeaseId;
  readonly ttlMs: number;
  /** Clock time (ms) at or after which the lease is expired. */
  readonly expiresAtMs: number;
}

export interface StoreTables {
  /**
   * Runs fn atomically and durably. TableStore checks every precondition before its first
   * mutation, so an implementation without rollback (memory) stays consistent when fn throws.
   */
  transaction<T>(fn: () => T): T;

  revision(): number;
  setRevision(revision: number): void;
  /** Highest revision whose change-log entries may have been dropped (0: none dropped). */
  compactedRevision(): number;

  getKv(key: string): KeyValue | undefined;
  /** Keys starting with prefix, sorted by key in UTF-8 byte order. */
  listKv(prefix: string): KeyValue[];
  putKv(kv: KeyValue): void;
  deleteKv(key: string): void;
  /** Keys attached to the lease, sorted like listKv. */
  keysOfLease(lease: LeaseId): string[];

  appendChange(event: WatchEvent): void;
  /** Change-log events with revision > afterRevision, in revision then key order. */
  changesAfter(afterRevision: number): WatchEvent[];
  /** Drops change-log entries with revision <= upTo and records upTo as the compacted revision. */
  compactChanges(upTo: number): void;

  getLease(id: LeaseId): LeaseRow | undefined;
  putLease(lease: LeaseRow): void;
  deleteLease(id: LeaseId): void;
  /** Leases with expiresAtMs <= nowMs. */
  expiredLeases(nowMs: number): LeaseRow[];
}
