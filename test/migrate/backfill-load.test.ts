/**
 * The backfill under load: 1,000,000 rows backfilled while the old version inserts and updates
 * without pause. No write may fail; the writer's latency is measured and reported (printed as a
 * test diagnostic), not asserted, because the machine is shared.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { DEFAULT_OPTIONS, MigrationDatabase } from "../../src/migrate/database.ts";
import { start } from "../../src/migrate/engine.ts";
import { parseMigration } from "../../src/migrate/migration-files.ts";
import {
  createEvents,
  type PostgresCluster,
  percentile,
  startEventsWriter,
  startPostgres,
} from "../support/postgres.ts";

const ROWS = Number(process.env.TEAL_BACKFILL_ROWS ?? 1_000_000);

let cluster: PostgresCluster;
before(async () => {
  cluster = await startPostgres();
});
after(() => cluster?.stop());

test(`a backfill of ${ROWS} rows never fails a concurrent writer, and every row ends right`, async (t) => {
  const url = await cluster.createDatabase();
  await createEvents(url, ROWS);
  const writer = await startEventsWriter(url, ROWS);
  const migration = parseMigration(
    {
      operations: [
        {
          add_column: {
            table: "events",
            column: { name: "label", type: "text", nullable: false },
            up: "kind || ':' || n",
          },
        },
      ],
    },
    "002",
    "migrations/002.yaml",
  );
  const db = await MigrationDatabase.open(url, "test", DEFAULT_OPTIONS);
  const began = performance.now();
  try {
    await start(db, [migration]);
  } finally {
    await db.close();
  }
  const seconds = (performance.now() - began) / 1000;
  const { writes, failures, latenciesMs } = await writer.stop();

  const check = new pg.Client(url);
  await check.connect();
  const wrong = await check.query(
    "SELECT count(*)::int AS n FROM events WHERE label IS DISTINCT FROM kind || ':' || n",
  );
  const total = await check.query("SELECT count(*)::int AS n FROM events");
  await check.end();
  t.diagnostic(
    `backfill of ${ROWS} rows: expand took ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s); ` +
      `writer: ${writes} writes, ${failures} failed, p50 ${percentile(latenciesMs, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(latenciesMs, 0.99).toFixed(2)} ms, max ${latenciesMs.at(-1)!.toFixed(1)} ms`,
  );
  assert.equal(failures, 0);
  assert.equal(wrong.rows[0].n, 0);
  assert.equal(total.rows[0].n, ROWS + Math.ceil(writes / 2));
});
