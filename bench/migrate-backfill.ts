/**
 * Backfill bench: teal's expand (batched backfill through the sync trigger) against the naive way
 * (ALTER TABLE ... ADD COLUMN, then one UPDATE of the whole table), on the same
 * table of N rows, each while one writer (the old version) inserts and updates without pause.
 * Reports rows/s and the writer's p50/p99/max latency per run; runs alternate (naive, teal, ...).
 *
 *   npx tsx bench/migrate-backfill.ts [--rows 1000000] [--runs 2]
 */

import { parseArgs } from "node:util";
import pg from "pg";
import { DEFAULT_OPTIONS, MigrationDatabase } from "../src/migrate/database.ts";
import { start } from "../src/migrate/engine.ts";
import { parseMigration } from "../src/migrate/migration-files.ts";
import { createEvents, percentile, startEventsWriter, startPostgres } from "../test/support/postgres.ts";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "1000000" }, runs: { type: "string", default: "2" } },
});
const rows = Number(values.rows);
const runs = Number(values.runs);

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
  await c.query("ALTER TABLE events ADD COLUMN label text");
  await c.query("UPDATE events SET label = kind || ':' || n");
  await c.end();
}

async function teal(url: string): Promise<void> {
  const db = await MigrationDatabase.open(url, "bench", DEFAULT_OPTIONS);
  try {
    await start(db, [migration]);
  } finally {
    await db.close();
  }
}

const cluster = await startPostgres();
try {
  process.stdout.write(
    `| way | rows | seconds | rows/s | writes | failed | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|\n`,
  );
  for (let run = 0; run < runs; run++) {
    for (const [name, migrate] of [
      ["naive ALTER + UPDATE", naive],
      ["teal migrate start", teal],
    ] as const) {
      const url = await cluster.createDatabase();
      await createEvents(url, rows);
      const writer = await startEventsWriter(url, rows);
      const began = performance.now();
      // The writer stops even when the migration fails, so a failed run never hangs the bench.
      const migrated = migrate(url).then(
        () => undefined,
        (err: unknown) => err,
      );
      const failure = await migrated;
      const seconds = (performance.now() - began) / 1000;
      const w = await writer.stop();
      if (failure) throw failure;
      const ms = (p: number) => percentile(w.latenciesMs, p).toFixed(2);
      process.stdout.write(
        `| ${name} | ${rows} | ${seconds.toFixed(1)} | ${Math.round(rows / seconds)} | ${w.writes} | ${w.failures} | ${ms(0.5)} | ${ms(0.99)} | ${w.latenciesMs.at(-1)?.toFixed(1)} |\n`,
      );
    }
  }
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
} finally {
  await cluster.stop();
}
