/**
 * What teal remembers in the database itself (schema `teal_migrations`): each migration's phase
 * and last finished step, both versions' shapes and schemas, the operations as started, and each
 * table's backfill progress. Every step commits its state in the same transaction as its work,
 * so a crash at any point leaves a state that says exactly what is done.
 */

import type { MigrationDatabase } from "./database.ts";
import type { Operation } from "./migration.ts";
import type { Shape } from "./shape.ts";
import { BASE_SCHEMA, STATE_SCHEMA } from "./sql.ts";

export type Phase = "expanding" | "expanded" | "completed" | "rolling_back" | "rolled_back";
/** Expand's steps in order; `step` holds the last one finished. */
export const EXPAND_STEPS = ["none", "ddl", "indexes", "backfill", "validate", "views"] as const;
export type ExpandStep = (typeof EXPAND_STEPS)[number];

export interface MigrationRecord {
  readonly name: string;
  readonly phase: Phase;
  readonly step: ExpandStep;
  readonly schema: string;
  readonly previousSchema: string;
  readonly oldShape: Shape;
  readonly newShape: Shape;
  readonly operations: readonly Operation[];
  readonly updatedAt: string;
}

export interface BackfillRecord {
  readonly table: string;
  readonly lastKey: string | null;
  readonly rowsDone: number;
  readonly done: boolean;
}

export async function ensureStateSchema(db: MigrationDatabase): Promise<void> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA}`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.migrations (
    name text PRIMARY KEY,
    phase text NOT NULL,
    step text NOT NULL,
    schema_name text NOT NULL,
    previous_schema text NOT NULL,
    old_shape jsonb NOT NULL,
    new_shape jsonb NOT NULL,
    operations jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.backfills (
    migration text NOT NULL,
    table_name text NOT NULL,
    last_key text,
    rows_done bigint NOT NULL DEFAULT 0,
    done boolean NOT NULL DEFAULT false,
    PRIMARY KEY (migration, table_name))`);
}

export async function readMigrations(db: MigrationDatabase): Promise<MigrationRecord[]> {
  const exists = await db.query(`SELECT to_regclass('${STATE_SCHEMA}.migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const { rows } = await db.query(`SELECT * FROM ${STATE_SCHEMA}.migrations ORDER BY name`);
  return rows.map((r) => ({
    name: r.name,
    phase: r.phase,
    step: r.step,
    schema: r.schema_name,
    previousSchema: r.previous_schema,
    oldShape: r.old_shape,
    newShape: r.new_shape,
    operations: r.operations,
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

export async function readBackfills(db: MigrationDatabase, migration: string): Promise<BackfillRecord[]> {
  const exists = await db.query(`SELECT to_regclass('${STATE_SCHEMA}.backfills') IS NOT NULL AS ok`);
  if (!exists.rows[0]?.ok) return [];
  const { rows } = await db.query(
    `SELECT table_name, last_key, rows_done, done FROM ${STATE_SCHEMA}.backfills WHERE migration = $1 ORDER BY table_name`,
    [migration],
  );
  return rows.map((r) => ({
    table: r.table_name,
    lastKey: r.last_key,
    rowsDone: Number(r.rows_done),
    done: r.done,
  }));
}

export async function insertMigration(
  db: MigrationDatabase,
  record: Omit<MigrationRecord, "updatedAt">,
): Promise<void> {
  await db.query(
    `INSERT INTO ${STATE_SCHEMA}.migrations (name, phase, step, schema_name, previous_schema, old_shape, new_shape, operations)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (name) DO UPDATE SET phase = $2, step = $3, schema_name = $4, previous_schema = $5,
       old_shape = $6, new_shape = $7, operations = $8, updated_at = now()`,
    [
      record.name,
      record.phase,
      record.step,
      record.schema,
      record.previousSchema,
      JSON.stringify(record.oldShape),
      JSON.stringify(record.newShape),
      JSON.stringify(record.operations),
    ],
  );
}

export async function setProgress(
  db: MigrationDatabase,
  name: string,
  change: { phase?: Phase; step?: ExpandStep; newShape?: Shape },
): Promise<void> {
  await db.query(
    `UPDATE ${STATE_SCHEMA}.migrations SET phase = coalesce($2, phase), step = coalesce($3, step),
       new_shape = coalesce($4::jsonb, new_shape), updated_at = now() WHERE name = $1`,
    [
      name,
      change.phase ?? null,
      change.step ?? null,
      change.newShape ? JSON.stringify(change.newShape) : null,
    ],
  );
}

/** The tables in the base schema as the app sees them before teal's first migration. */
export async function introspectShape(db: MigrationDatabase): Promise<Shape> {
  const { rows } = await db.query<{ table_name: string; column_name: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname NOT LIKE '\\_teal\\_%'
      ORDER BY c.relname, a.attnum`,
    [BASE_SCHEMA],
  );
  const shape: Record<string, { columns: { name: string; physical: string }[] }> = {};
  for (const r of rows) {
    shape[r.table_name] ??= { columns: [] };
    shape[r.table_name]!.columns.push({ name: r.column_name, physical: r.column_name });
  }
  return shape;
}

/** The table's single-column primary key, which the backfill walks in ranges. */
export async function primaryKey(db: MigrationDatabase, tableName: string): Promise<string | undefined> {
  const { rows } = await db.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary`,
    [`${BASE_SCHEMA}.${tableName}`],
  );
  return rows.length === 1 ? rows[0]!.attname : undefined;
}
