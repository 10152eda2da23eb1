/**
 * The SQL of each operation's additive part, split by when it runs: `ddl` in expand's one short
 * transaction (nothing that scans a table under a lock), `concurrent` outside any transaction,
 * `validate` after the backfill (VALIDATE takes a lock that lets writers through).
 */

import type { ColumnDef, Operation } from "./migration.ts";
import { physicalOf, type Shape } from "./shape.ts";
import { ident, newColumn, notNullCheck, table } from "./sql.ts";

export interface ExpandSql {
  readonly ddl: string[];
  /** Index names to build CONCURRENTLY, with their statement. */
  readonly concurrent: { readonly index: string; readonly sql: string }[];
  readonly validate: string[];
}

export function expandSql(operations: readonly Operation[], oldShape: Shape, newShape: Shape): ExpandSql {
  const out: ExpandSql = { ddl: [], concurrent: [], validate: [] };
  for (const op of operations) addExpand(out, op, oldShape, newShape);
  return out;
}

function addExpand(out: ExpandSql, op: Operation, oldShape: Shape, newShape: Shape): void {
  if ("create_table" in op) {
    const { table: t, columns } = op.create_table;
    out.ddl.push(`CREATE TABLE IF NOT EXISTS ${table(t)} (${columns.map(columnSql).join(", ")})`);
  } else if ("add_column" in op) {
    const { table: t, column, up } = op.add_column;
    // NOT NULL with a constant default is instant (Postgres 11+); otherwise nullable plus a NOT VALID
    // check, validated after the backfill, made a real NOT NULL by the contract.
    const direct = !column.nullable && column.default !== undefined && up === undefined;
    const def = { ...column, nullable: column.nullable || !direct, primary_key: false };
    out.ddl.push(`ALTER TABLE ${table(t)} ADD COLUMN IF NOT EXISTS ${columnSql(def)}`);
    if (!column.nullable && !direct) addNotNullCheck(out, t, column.name);
  } else if ("alter_column" in op) {
    const { table: t, column, type, nullable } = op.alter_column;
    const current = `(SELECT format_type(atttypid, atttypmod) FROM pg_attribute
       WHERE attrelid = ${pgString(`public.${t}`)}::regclass AND attname = ${pgString(physicalOf(oldShape, t, column))})`;
    // The new column's type: as asked, or the old column's own (a constraint-only change).
    const typeSql = type ?? undefined;
    if (typeSql)
      out.ddl.push(`ALTER TABLE ${table(t)} ADD COLUMN IF NOT EXISTS ${ident(newColumn(column))} ${typeSql}`);
    else
      out.ddl.push(
        `DO $teal$ BEGIN EXECUTE format('ALTER TABLE ${table(t).replaceAll("'", "''")} ADD COLUMN IF NOT EXISTS ${ident(newColumn(column))} %s', ${current}); END $teal$`,
      );
    if (nullable === false) addNotNullCheck(out, t, newColumn(column));
  } else if ("set_not_null" in op) {
    const { table: t, column } = op.set_not_null;
    addNotNullCheck(out, t, physicalOf(oldShape, t, column));
  } else if ("add_constraint" in op) {
    const { table: t, name, check, unique, foreign_key } = op.add_constraint;
    if (check !== undefined) {
      out.ddl.push(
        dropIfExists(t, name),
        `ALTER TABLE ${table(t)} ADD CONSTRAINT ${ident(name)} CHECK (${check}) NOT VALID`,
      );
      out.validate.push(`ALTER TABLE ${table(t)} VALIDATE CONSTRAINT ${ident(name)}`);
    } else if (unique !== undefined) {
      const cols = unique.map((c) => ident(physicalOf(newShape, t, c))).join(", ");
      out.concurrent.push({
        index: name,
        sql: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(name)} ON ${table(t)} (${cols})`,
      });
      out.validate.push(`DO $teal$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = ${pgString(name)} AND conrelid = ${pgString(`public.${t}`)}::regclass) THEN
          ALTER TABLE ${table(t)} ADD CONSTRAINT ${ident(name)} UNIQUE USING INDEX ${ident(name)};
        END IF; END $teal$`);
    } else if (foreign_key !== undefined) {
      const cols = foreign_key.columns.map((c) => ident(physicalOf(newShape, t, c))).join(", ");
      const refCols = foreign_key.references.columns
        .map((c) => ident(physicalOf(newShape, foreign_key.references.table, c)))
        .join(", ");
      const onDelete = foreign_key.on_delete ? ` ON DELETE ${foreign_key.on_delete.toUpperCase()}` : "";
      out.ddl.push(
        dropIfExists(t, name),
        `ALTER TABLE ${table(t)} ADD CONSTRAINT ${ident(name)} FOREIGN KEY (${cols}) REFERENCES ${table(foreign_key.references.table)} (${refCols})${onDelete} NOT VALID`,
      );
      out.validate.push(`ALTER TABLE ${table(t)} VALIDATE CONSTRAINT ${ident(name)}`);
    }
  } else if ("create_index" in op) {
    const { table: t, name, columns, unique, method } = op.create_index;
    const cols = columns.map((c) => ident(physicalOf(newShape, t, c))).join(", ");
    out.concurrent.push({
      index: name,
      sql: `CREATE ${unique ? "UNIQUE " : ""}INDEX CONCURRENTLY IF NOT EXISTS ${ident(name)} ON ${table(t)} USING ${method} (${cols})`,
    });
  } else if ("sql" in op) {
    out.ddl.push(op.sql.up);
  }
  // rename_column, drop_column and drop_table change only the new version's views until the contract.
}

function addNotNullCheck(out: ExpandSql, t: string, column: string): void {
  const name = notNullCheck(column);
  out.ddl.push(
    dropIfExists(t, name),
    `ALTER TABLE ${table(t)} ADD CONSTRAINT ${ident(name)} CHECK (${ident(column)} IS NOT NULL) NOT VALID`,
  );
  out.validate.push(`ALTER TABLE ${table(t)} VALIDATE CONSTRAINT ${ident(name)}`);
}

function dropIfExists(t: string, constraint: string): string {
  return `ALTER TABLE ${table(t)} DROP CONSTRAINT IF EXISTS ${ident(constraint)}`;
}

export function columnSql(c: ColumnDef): string {
  return [
    ident(c.name),
    c.type,
    c.primary_key ? "PRIMARY KEY" : "",
    !c.nullable && !c.primary_key ? "NOT NULL" : "",
    c.default !== undefined ? `DEFAULT ${c.default}` : "",
    c.unique ? "UNIQUE" : "",
    c.references ? `REFERENCES ${table(c.references.table)} (${ident(c.references.column)})` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

function pgString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
