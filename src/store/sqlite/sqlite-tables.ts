/** StoreTables on better-sqlite3: one connection, prepared statements, byte-ordered keys. */

import type Database from "better-sqlite3";
import type { KeyValue, LeaseId, WatchEvent } from "../store.ts";
import type { LeaseRow, StoreTables } from "../tables.ts";

interface KvRow {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
  version: number;
  lease: string | null;
}

interface ChangeRow {
  revision: number;
  key: string;
  type: "put" | "delete";
  value: string | null;
  create_rev: number | null;
  version: number | null;
  lease: string | null;
}

interface LeaseDbRow {
  id: string;
  ttl_ms: number;
  expires_at: number;
}

const toKv = (row: KvRow): KeyValue => ({
  key: row.key,
  value: row.value,
  createRevision: row.create_rev,
  modRevision: row.mod_rev,
  version: row.version,
  lease: (row.lease ?? undefined) as LeaseId | undefined,
});

const toEvent = (row: ChangeRow): WatchEvent =>
  row.type === "delete"
    ? { type: "delete", revision: row.revision, key: row.key }
    : {
        type: "put",
        revision: row.revision,
        kv: toKv({
          ...row,
          value: row.value ?? "",
          create_rev: row.create_rev ?? 0,
          mod_rev: row.revision,
          version: row.version ?? 0,
        }),
      };

const toLease = (row: LeaseDbRow): LeaseRow => ({
  id: row.id as LeaseId,
  ttlMs: row.ttl_ms,
  expiresAtMs: row.expires_at,
});

/** Keys are TEXT under BINARY collation, so SQLite orders them by UTF-8 bytes. */
export class SqliteTables implements StoreTables {
  readonly #transaction: Database.Transaction<(fn: () => unknown) => unknown>;
  readonly #q;

  constructor(db: Database.Database) {
    this.#transaction = db.transaction((fn: () => unknown) => fn());
    this.#q = {
      meta: db.prepare<[string], number>("SELECT value FROM meta WHERE name = ?").pluck(),
      setMeta: db.prepare<[number, string]>("UPDATE meta SET value = ? WHERE name = ?"),
      getKv: db.prepare<[string], KvRow>("SELECT * FROM kv WHERE key = ?"),
      // A range scan from the prefix; the caller stops at the first key outside it.
      scanKv: db.prepare<[string], KvRow>("SELECT * FROM kv WHERE key >= ? ORDER BY key"),
      putKv: db.prepare<KvRow>(
        `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease)
         VALUES (@key, @value, @create_rev, @mod_rev, @version, @lease)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, create_rev = excluded.create_rev,
           mod_rev = excluded.mod_rev, version = excluded.version, lease = excluded.lease`,
      ),
      deleteKv: db.prepare<[string]>("DELETE FROM kv WHERE key = ?"),
      keysOfLease: db.prepare<[string], string>("SELECT key FROM kv WHERE lease = ? ORDER BY key").pluck(),
      appendChange: db.prepare<ChangeRow>(
        `INSERT INTO changes (revision, key, type, value, create_rev, version, lease)
         VALUES (@revision, @key, @type, @value, @create_rev, @version, @lease)`,
      ),
      changesAfter: db.prepare<[number], ChangeRow>(
        "SELECT * FROM changes WHERE revision > ? ORDER BY revision, key",
      ),
      compact: db.prepare<[number]>("DELETE FROM changes WHERE revision <= ?"),
      getLease: db.prepare<[string], LeaseDbRow>("SELECT * FROM leases WHERE id = ?"),
      putLease: db.prepare<LeaseDbRow>(
        `INSERT INTO leases (id, ttl_ms, expires_at) VALUES (@id, @ttl_ms, @expires_at)
         ON CONFLICT (id) DO UPDATE SET ttl_ms = excluded.ttl_ms, expires_at = excluded.expires_at`,
      ),
      deleteLease: db.prepare<[string]>("DELETE FROM leases WHERE id = ?"),
      expiredLeases: db.prepare<[number], LeaseDbRow>(
        "SELECT * FROM leases WHERE expires_at <= ? ORDER BY expires_at, id",
      ),
    };
  }

  transaction<T>(fn: () => T): T {
    // IMMEDIATE takes the write lock up front, so a second process cannot interleave a write.
    return this.#transaction.immediate(fn) as T;
  }

  revision(): number {
    return this.#q.meta.get("revision") ?? 0;
  }

  setRevision(revision: number): void {
    this.#q.setMeta.run(revision, "revision");
  }

  compactedRevision(): number {
    return this.#q.meta.get("compacted_revision") ?? 0;
  }

  getKv(key: string): KeyValue | undefined {
    const row = this.#q.getKv.get(key);
    return row === undefined ? undefined : toKv(row);
  }

  listKv(prefix: string): KeyValue[] {
    const items: KeyValue[] = [];
    for (const row of this.#q.scanKv.iterate(prefix)) {
      if (!row.key.startsWith(prefix)) break;
      items.push(toKv(row));
    }
    return items;
  }

  putKv(kv: KeyValue): void {
    this.#q.putKv.run({
      key: kv.key,
      value: kv.value,
      create_rev: kv.createRevision,
      mod_rev: kv.modRevision,
      version: kv.version,
      lease: kv.lease ?? null,
    });
  }

  deleteKv(key: string): void {
    this.#q.deleteKv.run(key);
  }

  keysOfLease(lease: LeaseId): string[] {
    return this.#q.keysOfLease.all(lease);
  }

  appendChange(event: WatchEvent): void {
    this.#q.appendChange.run(
      event.type === "delete"
        ? { ...NO_VALUE, revision: event.revision, key: event.key, type: "delete" }
        : {
            revision: event.revision,
            key: event.kv.key,
            type: "put",
            value: event.kv.value,
            create_rev: event.kv.createRevision,
            version: event.kv.version,
            lease: event.kv.lease ?? null,
          },
    );
  }

  changesAfter(afterRevision: number): WatchEvent[] {
    return this.#q.changesAfter.all(afterRevision).map(toEvent);
  }

  compactChanges(upTo: number): void {
    this.#q.compact.run(upTo);
    this.#q.setMeta.run(upTo, "compacted_revision");
  }

  getLease(id: LeaseId): LeaseRow | undefined {
    const row = this.#q.getLease.get(id);
    return row === undefined ? undefined : toLease(row);
  }

  putLease(lease: LeaseRow): void {
    this.#q.putLease.run({ id: lease.id, ttl_ms: lease.ttlMs, expires_at: lease.expiresAtMs });
  }

  deleteLease(id: LeaseId): void {
    this.#q.deleteLease.run(id);
  }

  expiredLeases(nowMs: number): LeaseRow[] {
    return this.#q.expiredLeases.all(nowMs).map(toLease);
  }
}

const NO_VALUE = { value: null, create_rev: null, version: null, lease: null } as const;
