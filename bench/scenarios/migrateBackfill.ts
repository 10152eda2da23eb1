/**
 * The migrate-backfill scenario (issue 17, teal only): a column added and filled on a table of N
 * rows while one connection of the old version inserts and updates without pause, done two ways
 * on the same table: the naive way (ALTER TABLE ... ADD COLUMN, then one UPDATE of the whole
 * table) and `teal migrate start` (the backfill in batches through the sync trigger). Per run and
 * way: seconds, rows/s and the writer's writes, failures and p50/p99/max latency. Runs alternate
 * (naive, teal, naive, teal, ...), each on a freshly filled database of its own PostgreSQL 15.
 */

import { access } from "node:fs/promises";
import pg from "pg";
import { DEFAULT_OPTIONS, MigrationDatabase } from "../../src/migrate/database.ts";
import { start } from "../../src/migrate/engine.ts";
import { parseMigration } from "../../src/migrate/migration-files.ts";
import { createEvents, percentile, startEventsWriter, startPostgres } from "../../test/support/postgres.ts";
import type { BenchOptions } from "../args.ts";
import { trackByCmdline } from "../procs.ts";
import { log, round } from "../util.ts";
import type { ResultRow } from "./types.ts";

const INITDB = "/usr/lib/postgresql/15/bin/initdb";
const SCENARIO = "migrate-backfill";

/** The column both ways add: `label`, from two existing columns. */
const migration = parseMigration(
  {
    operations: [
      { add_column: { table: "events", column: { name: "label", type: "text" }, up: "kind || ':' || n" } },
    ],
  },
  "002",
  "bench",
);

async function naive(url: string): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query("ALTER TABLE events ADD COLUMN label text");
    await c.query("UPDATE events SET label = kind || ':' || n");
  } finally {
    await c.end();
  }
}

async function teal(url: string): Promise<void> {
  const db = await MigrationDatabase.open(url, "bench", DEFAULT_OPTIONS);
  try {
    await start(db, [migration]);
  } finally {
    await db.close();
  }
}

const WAYS = [
  { name: "naive ALTER + UPDATE", migrate: naive },
  { name: "teal migrate start", migrate: teal },
] as const;

export async function migrateBackfill(o: BenchOptions): Promise<ResultRow[]> {
  if (
    !(await access(INITDB).then(
      () => true,
      () => false,
    ))
  ) {
    const why = `skipped: PostgreSQL 15 is not installed (${INITDB} is missing; apt-get install postgresql-15)`;
    log(`${SCENARIO}: ${why}`);
    return [{ scenario: SCENARIO, name: "teal", error: why }];
  }
  const rows: ResultRow[] = [];
  const cluster = await startPostgres();
  // A last resort on SIGINT/exit: the postmaster's command line carries its port.
  trackByCmdline(`port=${cluster.port} `);
  try {
    for (let run = 1; run <= o.runs; run++) {
      for (const way of WAYS) rows.push(await oneRun(cluster, way, run, o.backfillRows));
    }
  } finally {
    await cluster.stop();
  }
  return rows;
}

async function oneRun(
  cluster: Awaited<ReturnType<typeof startPostgres>>,
  way: (typeof WAYS)[number],
  run: number,
  n: number,
): Promise<ResultRow> {
  const url = await cluster.createDatabase();
  log(`${SCENARIO}: run ${run}, ${way.name}: filling ${n} rows`);
  await createEvents(url, n);
  const writer = await startEventsWriter(url, n);
  const began = performance.now();
  // The writer stops even when the migration fails, so a failed run never hangs the bench.
  const failure = await way.migrate(url).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  const seconds = (performance.now() - began) / 1000;
  const w = await writer.stop();
  const row: ResultRow = {
    scenario: SCENARIO,
    name: way.name,
    run,
    rows: n,
    seconds: round(seconds, 1),
    rowsPerSec: Math.round(n / seconds),
    writes: w.writes,
    failedWrites: w.failures,
    p50Ms: round(percentile(w.latenciesMs, 0.5), 2),
    p99Ms: round(percentile(w.latenciesMs, 0.99), 2),
    maxMs: round(w.latenciesMs.at(-1) ?? 0, 2),
  };
  if (failure) row.error = `the migration failed: ${failure.message}`;
  log(`${SCENARIO}: run ${run}, ${way.name}: ${row.seconds} s, writer max ${row.maxMs} ms`);
  return row;
}
