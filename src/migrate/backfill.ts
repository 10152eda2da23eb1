/**
 * The backfill: walks a table by primary-key ranges, one short transaction per batch, touching
 * each row (`SET pk = pk`) so the sync trigger computes the new version's columns. Each batch
 * commits its progress with its rows, so a crash resumes after the last committed batch; a batch
 * that cannot get its row locks within the lock timeout is retried, never left waiting.
 */

import { TealError } from "../domain/errors.ts";
import { checkpoint, type MigrationDatabase } from "./database.ts";
import { ident, STATE_SCHEMA, table } from "./sql.ts";
import { primaryKey } from "./state.ts";

export async function backfillTable(
  db: MigrationDatabase,
  migration: string,
  tableName: string,
): Promise<void> {
  const pk = await primaryKey(db, tableName);
  if (pk === undefined) {
    throw new TealError(
      "UNSUPPORTED",
      `table ${tableName} needs a single-column primary key for the backfill to walk it in batches`,
    );
  }
  await db.query(
    `INSERT INTO ${STATE_SCHEMA}.backfills (migration, table_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [migration, tableName],
  );
  const key = ident(pk);
  const t = table(tableName);
  // FOR NO KEY UPDATE takes the batch's row locks up front, in key order (no deadlock with itself).
  const batchSql = (after: boolean) => `WITH batch AS (
      SELECT ${key} FROM ${t} ${after ? `WHERE ${key} > $1` : ""} ORDER BY ${key} LIMIT ${db.options.batchSize}
      FOR NO KEY UPDATE)
    , touched AS (UPDATE ${t} SET ${key} = ${t}.${key} FROM batch WHERE ${t}.${key} = batch.${key} RETURNING ${t}.${key})
    SELECT count(*)::int AS n, max(${key})::text AS last FROM touched`;
  let batches = 0;
  for (;;) {
    const state = await db.query<{ last_key: string | null; done: boolean }>(
      `SELECT last_key, done FROM ${STATE_SCHEMA}.backfills WHERE migration = $1 AND table_name = $2`,
      [migration, tableName],
    );
    const { last_key: last, done } = state.rows[0]!;
    if (done) return;
    const n = await db.transaction(`backfill of ${tableName}`, async () => {
      const { rows } = await db.query<{ n: number; last: string | null }>(
        batchSql(last !== null),
        last !== null ? [last] : [],
      );
      const { n, last: newLast } = rows[0]!;
      await db.query(
        `UPDATE ${STATE_SCHEMA}.backfills SET last_key = coalesce($3, last_key), rows_done = rows_done + $4, done = $5
          WHERE migration = $1 AND table_name = $2`,
        [migration, tableName, newLast, n, n < db.options.batchSize],
      );
      return n;
    });
    batches++;
    if (batches % 100 === 0) db.options.progress(`backfill of ${tableName}: ${batches} batches`);
    await checkpoint(`backfill-batch:${batches}`);
    if (n < db.options.batchSize) return;
  }
}
