/**
 * The migration engine's connection: one pg client holding the advisory lock that keeps two
 * `teal migrate` runs apart, short transactions that give up a lock wait after `lockTimeoutMs`
 * and try again (so a waiting ALTER never queues the app's writers for long), and the test seam
 * that pauses at a named step.
 */

import { setTimeout as delay } from "node:timers/promises";
import type { Client, QueryResultRow } from "pg";
import { TealError } from "../domain/errors.ts";
import { literal } from "./sql.ts";

export interface MigrateOptions {
  /** How long one statement may wait for a lock before its transaction is retried. Default 500. */
  readonly lockTimeoutMs: number;
  /** Retries of one transaction that lost a lock wait or a deadlock. Default 50. */
  readonly lockRetries: number;
  /** Rows per backfill batch. Default 1000. */
  readonly batchSize: number;
  /** Progress lines for the user (stderr in the CLI). */
  readonly progress: (line: string) => void;
}

export const DEFAULT_OPTIONS: MigrateOptions = {
  lockTimeoutMs: 500,
  lockRetries: 50,
  batchSize: 1000,
  progress: () => {},
};

/** SQLSTATEs that mean "try again": lock_not_available, deadlock_detected, serialization_failure. */
const RETRYABLE = new Set(["55P03", "40P01", "40001"]);
const LOCK_KEY = "hashtext('teal_migrations')";

export class MigrationDatabase {
  readonly #client: Client;
  readonly options: MigrateOptions;

  private constructor(client: Client, options: MigrateOptions) {
    this.#client = client;
    this.options = options;
  }

  /**
   * Connects and takes the migration lock. The URL is never part of an error message: only where
   * it came from (`source`, e.g. "$DATABASE_URL").
   */
  static async open(url: string, source: string, options: MigrateOptions): Promise<MigrationDatabase> {
    // pg is loaded when a database is first opened: teal server without one never carries it.
    const { default: pg } = await import("pg");
    let client: Client;
    try {
      client = new pg.Client({ connectionString: url, application_name: "teal migrate" });
    } catch (err) {
      throw new TealError(
        "DATABASE_FAILED",
        `the connection string in ${source} is not valid: ${safeMessage(err, url)}`,
      );
    }
    // An idle-in-transaction or broken socket must fail the run, not crash it.
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (err) {
      throw new TealError(
        "DATABASE_FAILED",
        `cannot connect to the database named by ${source}: ${safeMessage(err, url)}`,
      );
    }
    const db = new MigrationDatabase(client, options);
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`);
    if (!rows[0]?.ok) {
      await client.end();
      throw new TealError(
        "CONFLICT",
        "another `teal migrate` is running on this database: wait for it to finish",
      );
    }
    // The backfill and the contract are the old version's writes: they must not match the new schema.
    await client.query("SET search_path = public");
    return db;
  }

  async close(): Promise<void> {
    await this.#client.end().catch(() => {});
  }

  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]) {
    return this.#client.query<R>(sql, params);
  }

  /** Runs `fn` in one transaction with a lock timeout; retried whole when it lost a lock wait. */
  async transaction<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.#client.query("BEGIN");
      try {
        await this.#client.query(`SET LOCAL lock_timeout = ${literal(`${this.options.lockTimeoutMs}ms`)}`);
        const result = await fn();
        await this.#client.query("COMMIT");
        return result;
      } catch (err) {
        await this.#client.query("ROLLBACK").catch(() => {});
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < this.options.lockRetries) {
          this.options.progress(`${what}: lock busy, retrying (${attempt + 1})`);
          // Backs off so the app's queued writers get through between attempts.
          await delay(Math.min(20 * 2 ** attempt, 1000));
          continue;
        }
        throw asDatabaseError(err, what);
      }
    }
  }

  /** A statement outside any transaction (CREATE INDEX CONCURRENTLY), retried like a transaction. */
  async outside(what: string, sql: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#client.query(`SET lock_timeout = ${literal(`${this.options.lockTimeoutMs}ms`)}`);
        await this.#client.query(sql);
        await this.#client.query("SET lock_timeout = 0");
        return;
      } catch (err) {
        await this.#client.query("SET lock_timeout = 0").catch(() => {});
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < this.options.lockRetries) {
          await delay(Math.min(20 * 2 ** attempt, 1000));
          continue;
        }
        throw asDatabaseError(err, what);
      }
    }
  }
}

/**
 * The test seam: with TEAL_MIGRATE_PAUSE_AT=<step>, the run stops for good right after that step
 * is committed, printing `paused at <step>`, so a test can kill -9 it there.
 */
export async function checkpoint(step: string): Promise<void> {
  if (process.env.TEAL_MIGRATE_PAUSE_AT !== step) return;
  process.stderr.write(`paused at ${step}\n`);
  await new Promise(() => setInterval(() => {}, 60_000));
}

function asDatabaseError(err: unknown, what: string): TealError {
  if (err instanceof TealError) return err;
  const e = err as { message?: string; code?: string };
  return new TealError(
    "DATABASE_FAILED",
    `${what}: ${e.message ?? String(err)}${e.code ? ` (SQLSTATE ${e.code})` : ""}`,
    {
      cause: err,
    },
  );
}

/** An error message with the connection string (and so any password in it) cut out. */
function safeMessage(err: unknown, url: string): string {
  const message = (err as Error)?.message ?? String(err);
  return url ? message.replaceAll(url, "<connection string>") : message;
}
