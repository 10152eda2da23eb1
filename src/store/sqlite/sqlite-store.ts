/**
 * The single-node Store adapter: one SQLite file in WAL mode, each write one transaction, committed
 * to the OS before it resolves (it survives kill -9), made durable on disk within a second by a
 * checkpoint off the event loop (checkpointer.ts).
 */

import { closeSync, openSync } from "node:fs";
import Database from "better-sqlite3";
import { TealError } from "../../domain/errors.ts";
import { TableStore, type TableStoreOptions } from "../table-store.ts";
import { CHECKPOINT_PERIOD_MS, type Checkpoint, Checkpointer } from "./checkpointer.ts";
import { migrate } from "./migrations.ts";
import { SqliteTables } from "./sqlite-tables.ts";

export interface SqliteStoreOptions extends TableStoreOptions {
  /** Database file; created with its schema if missing. ":memory:" gives a throwaway store. */
  readonly path: string;
  /** How often changes are flushed to disk (fsync of the WAL and database file); default 1,000 ms. */
  readonly checkpointPeriodMs?: number;
  /** Called after each background checkpoint (tests wait on it). */
  readonly onCheckpoint?: (c: Checkpoint) => void;
  /**
   * Start-up: no background checkpoint (and no thread) until `startedUp()`, which checkpoints
   * start-up's writes once on this thread. Until then they survive kill -9 but not a power loss.
   */
  readonly holdCheckpoints?: boolean;
}

/**
 * A checkpoint on the writing thread only if the background one has fallen this far behind (a
 * backstop: pages of 4 KiB, so 40 MiB of WAL; a switch writes about 26 KiB).
 */
const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/**
 * Store on better-sqlite3. A write resolves once its transaction is committed to the WAL in the
 * OS (`synchronous = NORMAL`): an acknowledged write survives the process being killed, and the
 * checkpointer makes it survive a power loss within `checkpointPeriodMs`. With `FULL` every write
 * waited for an fsync (4 ms median, 24 ms p99 on this disk; two per switch call). Only one
 * process should own the file: watch events come from this process's own writes.
 */
export class SqliteStore extends TableStore {
  readonly #db: Database.Database;
  readonly #checkpointer: Checkpointer | undefined;

  private constructor(db: Database.Database, options: SqliteStoreOptions, checkpointer?: Checkpointer) {
    super(new SqliteTables(db), options);
    this.#db = db;
    this.#checkpointer = checkpointer;
  }

  /** Opens (or creates) the database, applies pending schema migrations and starts the lease sweep. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    let db: Database.Database | undefined;
    try {
      if (options.path !== ":memory:") createPrivate(options.path);
      db = new Database(options.path);
      db.pragma("journal_mode = WAL");
      // NORMAL: a commit is in the OS when the write resolves; the checkpointer puts it on disk.
      db.pragma("synchronous = NORMAL");
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      migrate(db);
      const checkpointer =
        options.path === ":memory:"
          ? undefined
          : new Checkpointer(db, {
              path: options.path,
              periodMs: options.checkpointPeriodMs ?? CHECKPOINT_PERIOD_MS,
              onCheckpoint: options.onCheckpoint,
              held: options.holdCheckpoints,
              onError: options.onError ?? ((err) => process.emitWarning(String(err), "TealStoreWarning")),
            });
      return new SqliteStore(db, options, checkpointer);
    } catch (err) {
      db?.close();
      if (err instanceof TealError) throw err;
      throw new TealError("INTERNAL", `cannot open the store at ${options.path}`, {
        cause: err,
        details: { path: options.path },
      });
    }
  }

  /** Ends start-up's hold (`holdCheckpoints`): its writes are checkpointed now, later ones in the background. */
  startedUp(): void {
    this.#checkpointer?.release();
  }

  /** Cancels watches, stops the sweep, flushes and closes the database file. */
  override async close(): Promise<void> {
    await super.close();
    // The thread's connection first: the last one to close checkpoints fully and removes the WAL.
    await this.#checkpointer?.close();
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
