/** StoreTables held in Maps: the storage under MemoryStore. */

import type { KeyValue, LeaseId, WatchEvent } from "../store.ts";
import type { LeaseRow, StoreTables } from "../tables.ts";

/** Orders keys by UTF-8 bytes, as SQLite and etcd do (plain `<` compares UTF-16 units). */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export class MemoryTables implements StoreTables {
  readonly #kv = new Map<string, KeyValue>();
  readonly #leases = new Map<LeaseId, LeaseRow>();
  readonly #changes: WatchEvent[] = [];
  #revision = 0;
  #compacted = 0;

  /** No rollback: TableStore checks every precondition before it mutates anything. */
  transaction<T>(fn: () => T): T {
    return fn();
  }

  revision(): number {
    return this.#revision;
  }

  setRevision(revision: number): void {
    this.#revision = revision;
  }

  compactedRevision(): number {
    return this.#compacted;
  }

  getKv(key: string): KeyValue | undefined {
    return this.#kv.get(key);
  }

  listKv(prefix: string): KeyValue[] {
    return [...this.#kv.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => compareKeys(a.key, b.key));
  }

  putKv(kv: KeyValue): void {
    this.#kv.set(kv.key, kv);
  }

  deleteKv(key: string): void {
    this.#kv.delete(key);
  }

  keysOfLease(lease: LeaseId): string[] {
    return [...this.#kv.values()]
      .filter((kv) => kv.lease === lease)
      .map((kv) => kv.key)
      .sort(compareKeys);
  }

  appendChange(event: WatchEvent): void {
    this.#changes.push(event);
  }

  changesAfter(afterRevision: number): WatchEvent[] {
    return this.#changes.filter((event) => event.revision > afterRevision);
  }

  compactChanges(upTo: number): void {
    let dropped = 0;
    while (dropped < this.#changes.length && this.#changes[dropped]!.revision <= upTo) dropped++;
    this.#changes.splice(0, dropped);
    this.#compacted = upTo;
  }

  getLease(id: LeaseId): LeaseRow | undefined {
    return this.#leases.get(id);
  }

  putLease(lease: LeaseRow): void {
    this.#leases.set(lease.id, lease);
  }

  deleteLease(id: LeaseId): void {
    this.#leases.delete(id);
  }

  expiredLeases(nowMs: number): LeaseRow[] {
    return [...this.#leases.values()].filter((lease) => lease.expiresAtMs <= nowMs);
  }
}
