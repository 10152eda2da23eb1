/** The single-node Store adapter: one SQLite file in WAL mode, each write one durable transaction. */

import { closeSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { TealError } from "../../domain/errors.ts";
import { TableStore, type TableStoreOptions } from "../table-store.ts";
import { migrate } from "./migrations.ts";
import { SqliteTables } from "./sqlite-tables.ts";

export interface SqliteStoreOptions extends TableStoreOptions {
  /** Database file; created with its schema if missing. ":memory:" gives a throwaway store. */
  readonly path: string;
}

/**
 * Store on better-sqlite3. A write resolves only after its transaction is committed with
 * `synchronous = FULL`, so an acknowledged write survives the process being killed. Only one
 * process should own the file: watch events come from this process's own writes.
 */
export class SqliteStore extends TableStore {
  readonly #db: Database.Database;

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    super(new SqliteTables(db), options);
    this.#db = db;
  }

  /** Opens (or creates) the database, applies pending schema migrations and starts the lease sweep. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    let db: Database.Database | undefined;
    try {
      if (options.path !== ":memory:") createPrivate(options.path);
      db = new Database(options.path);
      db.pragma("journal_mode = WAL");
      // FULL: a commit is fsynced before the write resolves, so an acknowledged write is on disk.
      db.pragma("synchronous = FULL");
      migrate(db);
      return new SqliteStore(db, options);
    } catch (err) {
      db?.close();
      if (err instanceof TealError) throw err;
      throw new TealError("INTERNAL", `cannot open the store at ${options.path}`, {
        cause: err,
        details: { path: options.path },
      });
    }
  }

  /** Cancels watches, stops the sweep and closes the database file. */
  override async close(): Promise<void> {
    await super.close();
    if (this.#db.open) this.#db.close();
  }
}

/**
 * Creates the database file mode 0600 if it is missing (an empty file is an empty database). SQLite
 * would create it 0644, and it gives the -wal and -shm files the database file's mode: they hold
 * the same data, the values given with --env among them.
 */
function createPrivate(path: string): void {
  closeSync(openSync(path, "a", 0o600));
}
