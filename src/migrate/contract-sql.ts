/**
 * The SQL that ends a migration: the contract (what only the old version needed goes, temporary
 * columns take their real names, NOT VALID checks become real NOT NULLs) and the rollback of an
 * expand (everything the expand added goes). Both run in one transaction, after the views that
 * depend on the columns are dropped; every statement tolerates having run before.
 */

import type { Operation } from "./migration.ts";
import { physicalOf, type Shape } from "./shape.ts";
import { ident, newColumn, notNullCheck, table } from "./sql.ts";

export function contractSql(operations: readonly Operation[], oldShape: Shape): string[] {
  const out: string[] = [];
  for (const op of operations) {
    if ("add_column" in op) {
      const { table: t, column, up } = op.add_column;
      const direct = !column.nullable && column.default !== undefined && up === undefined;
      if (!column.nullable && !direct) out.push(...setNotNull(t, column.name));
    } else if ("rename_column" in op) {
      const { table: t, from, to } = op.rename_column;
      out.push(renameIfExists(t, physicalOf(oldShape, t, from), to));
    } else if ("alter_column" in op) {
      const { table: t, column, nullable } = op.alter_column;
      const temp = newColumn(column);
      out.push(`ALTER TABLE ${table(t)} DROP COLUMN IF EXISTS ${ident(physicalOf(oldShape, t, column))}`);
      out.push(renameIfExists(t, temp, column));
      if (nullable === false) out.push(...setNotNull(t, column, notNullCheck(temp)));
    } else if ("set_not_null" in op) {
      const { table: t, column } = op.set_not_null;
      out.push(...setNotNull(t, physicalOf(oldShape, t, column)));
    } else if ("drop_column" in op) {
      const { table: t, column } = op.drop_column;
      out.push(`ALTER TABLE ${table(t)} DROP COLUMN IF EXISTS ${ident(physicalOf(oldShape, t, column))}`);
    } else if ("drop_table" in op) {
      out.push(`DROP TABLE IF EXISTS ${table(op.drop_table.table)}`);
    }
  }
  return out;
}

/** Undoes the expand, last operation first. Index drops run apart: see `rollbackIndexes`. */
export function rollbackSql(operations: readonly Operation[], oldShape: Shape): string[] {
  const out: string[] = [];
  for (const op of [...operations].reverse()) {
    if ("create_table" in op) {
      out.push(`DROP TABLE IF EXISTS ${table(op.create_table.table)}`);
    } else if ("add_column" in op) {
      const { table: t, column } = op.add_column;
      out.push(`ALTER TABLE ${table(t)} DROP COLUMN IF EXISTS ${ident(column.name)}`);
    } else if ("alter_column" in op) {
      const { table: t, column } = op.alter_column;
      out.push(`ALTER TABLE ${table(t)} DROP COLUMN IF EXISTS ${ident(newColumn(column))}`);
    } else if ("set_not_null" in op) {
      const { table: t, column } = op.set_not_null;
      out.push(dropConstraint(t, notNullCheck(physicalOf(oldShape, t, column))));
    } else if ("add_constraint" in op) {
      out.push(dropConstraint(op.add_constraint.table, op.add_constraint.name));
    } else if ("sql" in op && op.sql.down !== undefined) {
      out.push(op.sql.down);
    }
  }
  return out;
}

/** Indexes the expand built CONCURRENTLY, dropped the same way so writers never wait on them. */
export function rollbackIndexes(operations: readonly Operation[]): string[] {
  const names: string[] = [];
  for (const op of operations) {
    if ("create_index" in op) names.push(op.create_index.name);
    else if ("add_constraint" in op && op.add_constraint.unique) names.push(op.add_constraint.name);
  }
  return names.map((n) => `DROP INDEX CONCURRENTLY IF EXISTS ${ident("public")}.${ident(n)}`);
}

/** With a validated CHECK (col IS NOT NULL), SET NOT NULL skips the table scan (Postgres 12+). */
function setNotNull(t: string, column: string, check = notNullCheck(column)): string[] {
  return [`ALTER TABLE ${table(t)} ALTER COLUMN ${ident(column)} SET NOT NULL`, dropConstraint(t, check)];
}

function dropConstraint(t: string, name: string): string {
  return `ALTER TABLE IF EXISTS ${table(t)} DROP CONSTRAINT IF EXISTS ${ident(name)}`;
}

/** A rename that is a no-op once done, so a contract that ran before can run again. */
function renameIfExists(t: string, from: string, to: string): string {
  if (from === to) return "SELECT 1";
  return `DO $teal$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${`public.${t}`}'::regclass AND attname = '${from}' AND NOT attisdropped) THEN
      ALTER TABLE ${table(t)} RENAME COLUMN ${ident(from)} TO ${ident(to)};
    END IF; END $teal$`;
}
