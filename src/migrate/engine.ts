/**
 * The migration runbook: `start` (expand), `complete` (contract), `rollback` and `status`. Each
 * reads the state in the database first and carries on from the last finished step, so running
 * any of them again after a crash finishes the job.
 *
 * Expand's steps: ddl (one short transaction: new tables, columns, NOT VALID constraints, sync
 * triggers) -> indexes (CONCURRENTLY) -> backfill (batches) -> validate -> views (the new
 * version's schema). Only the last step makes the new version's schema visible, so the new
 * version cannot start on a half-expanded database.
 */

import { TealError } from "../domain/errors.ts";
import { backfillTable } from "./backfill.ts";
import { contractSql, rollbackIndexes, rollbackSql } from "./contract-sql.ts";
import { checkpoint, type MigrationDatabase } from "./database.ts";
import { expandSql } from "./expand-sql.ts";
import type { Migration } from "./migration.ts";
import { nextShape, type Shape, settledShape } from "./shape.ts";
import { BASE_SCHEMA, ident, versionSchema } from "./sql.ts";
import {
  EXPAND_STEPS,
  type ExpandStep,
  ensureStateSchema,
  insertMigration,
  introspectShape,
  type MigrationRecord,
  readMigrations,
  setProgress,
} from "./state.ts";
import { dropTriggerSql, syncAssignments, triggerSql } from "./triggers.ts";
import { dropViewsSql, viewsSql } from "./views.ts";

export type StartOutcome =
  | {
      readonly kind: "expanded";
      readonly migration: string;
      readonly schema: string;
      readonly resumed: boolean;
    }
  | { readonly kind: "already-expanded"; readonly migration: string; readonly schema: string }
  | { readonly kind: "nothing-to-do" };

/** The migration in flight: expanding, expanded or half rolled back. At most one at a time. */
export function activeMigration(records: readonly MigrationRecord[]): MigrationRecord | undefined {
  return records.find((r) => r.phase === "expanding" || r.phase === "expanded" || r.phase === "rolling_back");
}

export async function start(db: MigrationDatabase, migrations: readonly Migration[]): Promise<StartOutcome> {
  await ensureStateSchema(db);
  const records = await readMigrations(db);
  const active = activeMigration(records);
  if (active?.phase === "expanded")
    return { kind: "already-expanded", migration: active.name, schema: active.schema };
  if (active?.phase === "rolling_back") {
    throw new TealError(
      "CONFLICT",
      `migration ${active.name} is half rolled back: run \`teal migrate rollback\` to finish it`,
    );
  }
  if (active) {
    db.options.progress(`resuming ${active.name} after step ${active.step}`);
    await expand(db, active);
    return { kind: "expanded", migration: active.name, schema: active.schema, resumed: true };
  }
  const completed = records.filter((r) => r.phase === "completed");
  const last = completed.at(-1);
  const next = migrations.find(
    (m) => !completed.some((r) => r.name === m.name) && (!last || m.name > last.name),
  );
  if (!next) return { kind: "nothing-to-do" };
  const oldShape: Shape = last ? last.newShape : await introspectShape(db);
  const record: Omit<MigrationRecord, "updatedAt"> = {
    name: next.name,
    phase: "expanding",
    step: "none",
    schema: versionSchema(next.name),
    previousSchema: last ? last.schema : BASE_SCHEMA,
    oldShape,
    newShape: nextShape(oldShape, next),
    operations: next.operations,
  };
  await insertMigration(db, record);
  await expand(db, { ...record, updatedAt: "" });
  return { kind: "expanded", migration: next.name, schema: record.schema, resumed: false };
}

async function expand(db: MigrationDatabase, m: MigrationRecord): Promise<void> {
  const done = (step: ExpandStep) => EXPAND_STEPS.indexOf(m.step) >= EXPAND_STEPS.indexOf(step);
  const sql = expandSql(m.operations, m.oldShape, m.newShape);
  const sync = syncAssignments(m.operations, m.oldShape);
  const finish = async (step: ExpandStep) => {
    await checkpoint(step);
    db.options.progress(`${m.name}: ${step} done`);
  };

  if (!done("ddl")) {
    await db.transaction(`${m.name}: ddl`, async () => {
      for (const statement of sql.ddl) await db.query(statement);
      // The triggers go in with the columns: no row can be written between them without its sync.
      for (const [t, assignments] of sync) {
        for (const s of triggerSql(m.name, m.schema, t, assignments, m.oldShape, m.newShape))
          await db.query(s);
      }
      await setProgress(db, m.name, { step: "ddl" });
    });
    await finish("ddl");
  }
  if (!done("indexes")) {
    for (const { index, sql: create } of sql.concurrent) {
      // A CONCURRENTLY build cut short leaves an invalid index behind: drop it and build again.
      const invalid = await db.query(
        `SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND NOT indisvalid`,
        [`${BASE_SCHEMA}.${index}`],
      );
      if (invalid.rowCount)
        await db.outside(
          `${m.name}: index ${index}`,
          `DROP INDEX CONCURRENTLY IF EXISTS ${ident(BASE_SCHEMA)}.${ident(index)}`,
        );
      await db.outside(`${m.name}: index ${index}`, create);
    }
    await db.transaction(`${m.name}: indexes`, () => setProgress(db, m.name, { step: "indexes" }));
    await finish("indexes");
  }
  if (!done("backfill")) {
    for (const t of sync.keys()) {
      const { up, derived } = sync.get(t)!;
      if (up.length > 0 || derived.length > 0) await backfillTable(db, m.name, t);
    }
    await setProgress(db, m.name, { step: "backfill" });
    await finish("backfill");
  }
  if (!done("validate")) {
    for (const statement of sql.validate)
      await db.transaction(`${m.name}: validate`, () => db.query(statement));
    await setProgress(db, m.name, { step: "validate" });
    await finish("validate");
  }
  await db.transaction(`${m.name}: views`, async () => {
    const shape = withTablesFromSql(m.newShape, m.oldShape, await introspectShape(db));
    for (const s of viewsSql(m.schema, shape)) await db.query(s);
    await setProgress(db, m.name, { step: "views", phase: "expanded", newShape: shape });
  });
  db.options.progress(`${m.name}: expanded; the new version's schema is ${m.schema}`);
}

/** Tables that raw SQL created (neither version's shape knows them) join the new version's shape. */
function withTablesFromSql(newShape: Shape, oldShape: Shape, base: Shape): Shape {
  const out = { ...newShape };
  for (const [t, def] of Object.entries(base)) if (!(t in oldShape) && !(t in newShape)) out[t] = def;
  return out;
}

export type CompleteOutcome =
  | { readonly kind: "completed"; readonly migration: string; readonly schema: string }
  | { readonly kind: "nothing-to-do" };

export async function complete(db: MigrationDatabase): Promise<CompleteOutcome> {
  await ensureStateSchema(db);
  const active = activeMigration(await readMigrations(db));
  if (!active) return { kind: "nothing-to-do" };
  if (active.phase !== "expanded") {
    throw new TealError(
      "CONFLICT",
      `migration ${active.name} is ${active.phase.replace("_", " ")} (last step: ${active.step}): ${
        active.phase === "expanding"
          ? "run `teal migrate start` to finish the expand first"
          : "finish the rollback first"
      }`,
    );
  }
  const settled = settledShape(active.newShape);
  // One transaction: the new version's views are gone only inside it, so its queries never miss them.
  await db.transaction(`${active.name}: complete`, async () => {
    if (active.previousSchema !== BASE_SCHEMA)
      await db.query(`DROP SCHEMA IF EXISTS ${ident(active.previousSchema)} CASCADE`);
    for (const s of dropViewsSql(active.schema, active.newShape)) await db.query(s);
    for (const t of syncAssignments(active.operations, active.oldShape).keys()) {
      for (const s of dropTriggerSql(active.name, t)) await db.query(s);
    }
    for (const s of contractSql(active.operations, active.oldShape)) await db.query(s);
    for (const s of viewsSql(active.schema, settled)) await db.query(s);
    await setProgress(db, active.name, { phase: "completed", newShape: settled });
  });
  return { kind: "completed", migration: active.name, schema: active.schema };
}

export type RollbackOutcome =
  | { readonly kind: "rolled-back"; readonly migration: string; readonly schema: string }
  | { readonly kind: "nothing-to-do" };

export async function rollback(db: MigrationDatabase): Promise<RollbackOutcome> {
  await ensureStateSchema(db);
  const active = activeMigration(await readMigrations(db));
  if (!active) return { kind: "nothing-to-do" };
  const irreversible = active.operations.findIndex((op) => "sql" in op && op.sql.down === undefined);
  if (irreversible >= 0 && active.step !== "none") {
    throw new TealError(
      "UNSUPPORTED",
      `migration ${active.name}: operations[${irreversible}].sql has no down: add one to roll this migration back`,
    );
  }
  await setProgress(db, active.name, { phase: "rolling_back" });
  await checkpoint("rolling_back");
  // The views first: the new version loses its schema before the columns behind it go.
  await db.transaction(`${active.name}: rollback`, async () => {
    await db.query(`DROP SCHEMA IF EXISTS ${ident(active.schema)} CASCADE`);
    for (const t of syncAssignments(active.operations, active.oldShape).keys()) {
      for (const s of dropTriggerSql(active.name, t)) await db.query(s);
    }
    if (active.step !== "none")
      for (const s of rollbackSql(active.operations, active.oldShape)) await db.query(s);
    // Committed with the undo itself: a rollback run again never runs an `sql` down twice.
    await setProgress(db, active.name, { step: "none" });
  });
  await checkpoint("rollback-undone");
  for (const s of rollbackIndexes(active.operations)) await db.outside(`${active.name}: rollback`, s);
  await db.transaction(`${active.name}: rollback`, async () => {
    await db.query("DELETE FROM teal_migrations.backfills WHERE migration = $1", [active.name]);
    await setProgress(db, active.name, { phase: "rolled_back", step: "none" });
  });
  return { kind: "rolled-back", migration: active.name, schema: active.schema };
}
