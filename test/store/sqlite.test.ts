/**
 * Runs the store contract against SQLite, and checks its file. In-process only (it runs in `npm run
 * test:unit`); that acknowledged writes survive kill -9 is in sqlite-durability.test.ts.
 */

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { isTealError } from "../../src/domain/errors.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { runStoreContract } from "./contract.ts";

runStoreContract(
  "sqlite",
  async (clock, { historyLimit }) => {
    const dir = await mkdtemp(join(tmpdir(), "teal-store-"));
    const open = () =>
      SqliteStore.open({ path: join(dir, "state.db"), clock, historyLimit, leaseSweepIntervalMs: 0 });
    let current: Store = await open();
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await open();
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { persistent: true },
);

describe("sqlite store file", () => {
  it("opens its file in WAL mode with full fsync and records the schema version", async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-file-"));
    const path = join(dir, "state.db");
    try {
      await (await SqliteStore.open({ path, leaseSweepIntervalMs: 0 })).close();
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
        assert.ok((db.pragma("user_version", { simple: true }) as number) >= 1);
      } finally {
        db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to open a database written by a newer schema", async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-file-"));
    const path = join(dir, "state.db");
    try {
      const db = new Database(path);
      db.pragma("user_version = 999");
      db.close();
      await assert.rejects(SqliteStore.open({ path, leaseSweepIntervalMs: 0 }), (err) =>
        isTealError(err, "INTERNAL"),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
