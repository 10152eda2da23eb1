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
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";

const ROWS = Number(process.env.TEAL_BACKFILL_ROWS ?? 1_000_000);

let cluster: PostgresCluster;
before(async () => {
  cluster = await startPostgres();
});
after(() => cluster?.stop());

test(`a backfill of ${ROWS} rows never fails a concurrent writer, and every row ends right`, async (t) => {
  const url = await cluster.createDatabase();
  const setup = new pg.Client(url);
  await setup.connect();
  await setup.query("CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, n int NOT NULL)");
  await setup.query(
    `INSERT INTO events (kind, n) SELECT 'k' || (i % 7), i FROM generate_series(1, ${ROWS}) i`,
  );
  await setup.query("VACUUM ANALYZE events");

  const writer = new pg.Client(url);
  await writer.connect();
  const latenciesMs: number[] = [];
  let failures = 0;
  let stop = false;
  const writes = (async () => {
    for (let i = 0; !stop; i++) {
      const began = performance.now();
      try {
        if (i % 2 === 0) await writer.query("INSERT INTO events (kind, n) VALUES ('live', $1)", [i]);
        else await writer.query("UPDATE events SET n = n + 1 WHERE id = $1", [1 + ((i * 7919) % ROWS)]);
      } catch {
        failures++;
      }
      latenciesMs.push(performance.now() - began);
    }
  })();

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
  stop = true;
  await writes;

  const wrong = await setup.query(
    "SELECT count(*)::int AS n FROM events WHERE label IS DISTINCT FROM kind || ':' || n",
  );
  const total = await setup.query("SELECT count(*)::int AS n FROM events");
  latenciesMs.sort((a, b) => a - b);
  const p99 = latenciesMs[Math.floor(latenciesMs.length * 0.99)]!;
  t.diagnostic(
    `backfill of ${ROWS} rows: expand took ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s); ` +
      `writer: ${latenciesMs.length} writes, ${failures} failed, p50 ${latenciesMs[latenciesMs.length >> 1]!.toFixed(2)} ms, ` +
      `p99 ${p99.toFixed(2)} ms, max ${latenciesMs.at(-1)!.toFixed(1)} ms`,
  );
  assert.equal(failures, 0);
  assert.equal(wrong.rows[0].n, 0);
  assert.equal(total.rows[0].n, ROWS + Math.ceil(latenciesMs.length / 2));
  await Promise.all([setup.end(), writer.end()]);
});
