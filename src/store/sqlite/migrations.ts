/** The SQLite store's schema, as an ordered list of migrations tracked in `PRAGMA user_version`. */

import type Database from "better-sqlite3";
import { TealError } from "../../domain/errors.ts";

/**
 * Migration N (0-based) takes the schema from user_version N to N + 1. Append new migrations;
 * never edit or reorder shipped ones.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (name, value) VALUES ('revision', 0), ('compacted_revision', 0);
  CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    ttl_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX leases_by_expiry ON leases (expires_at);
  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease TEXT
  ) WITHOUT ROWID;
  CREATE INDEX kv_by_lease ON kv (lease, key) WHERE lease IS NOT NULL;
  CREATE TABLE changes (
    revision INTEGER NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('put', 'delete')),
    value TEXT,
    create_rev INTEGER,
    version INTEGER,
    lease TEXT,
    PRIMARY KEY (revision, key)
  ) WITHOUT ROWID;
  `,
];

/** Brings the database schema up to date in one transaction; refuses a schema newer than this code. */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new TealError(
        "INTERNAL",
        `store schema version ${current} is newer than this teal supports (${MIGRATIONS.length})`,
        { details: { schemaVersion: current, supported: MIGRATIONS.length } },
      );
    }
    for (const sql of MIGRATIONS.slice(current)) db.exec(sql);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  apply.immediate();
}
