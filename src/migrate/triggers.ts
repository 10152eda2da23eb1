/**
 * The triggers that keep both versions' columns in step while both run. One BEFORE INSERT OR
 * UPDATE trigger per table: a row written through the new version's schema gets the old
 * version's columns computed by the `down` expressions; any other write (the old version, and the
 * backfill) gets the new version's columns computed by the `up` expressions. Who wrote is told by
 * the writer's search_path, as pgroll does: the new version's schema is in it.
 *
 * Expressions see the row's columns under the names the writing version uses, as plpgsql
 * variables declared from NEW (Reshape and pgroll bind them the same way).
 */

import type { Operation } from "./migration.ts";
import { physicalOf, type Shape } from "./shape.ts";
import { BASE_SCHEMA, ident, literal, newColumn, table, triggerFunction, triggerName } from "./sql.ts";

interface Assignments {
  /** Statements run for the old version's writes (and the backfill). */
  readonly up: string[];
  /**
   * Added columns computed by `up` for the old version's writes. On an update the value is
   * computed again only if it still is what `up` gave for the row before the update: derived
   * values follow the row, a value the new version wrote itself stays.
   */
  readonly derived: { readonly column: string; readonly expr: string }[];
  /** Statements run for the new version's writes. */
  readonly down: string[];
}

/** The tables whose rows need computed columns, with what to compute. */
export function syncAssignments(operations: readonly Operation[], oldShape: Shape): Map<string, Assignments> {
  const byTable = new Map<string, Assignments>();
  const of = (t: string) => {
    const a = byTable.get(t) ?? { up: [], down: [], derived: [] };
    byTable.set(t, a);
    return a;
  };
  for (const op of operations) {
    if ("add_column" in op && op.add_column.up !== undefined) {
      of(op.add_column.table).derived.push({ column: op.add_column.column.name, expr: op.add_column.up });
    } else if ("alter_column" in op) {
      const { table: t, column, up, down } = op.alter_column;
      of(t).up.push(`NEW.${ident(newColumn(column))} := (${up});`);
      of(t).down.push(`NEW.${ident(physicalOf(oldShape, t, column))} := (${down});`);
    } else if ("set_not_null" in op) {
      const col = ident(physicalOf(oldShape, op.set_not_null.table, op.set_not_null.column));
      of(op.set_not_null.table).up.push(
        `IF NEW.${col} IS NULL THEN NEW.${col} := (${op.set_not_null.up}); END IF;`,
      );
    } else if ("drop_column" in op && op.drop_column.down !== undefined) {
      const { table: t, column, down } = op.drop_column;
      const col = ident(physicalOf(oldShape, t, column));
      of(t).down.push(`IF NEW.${col} IS NULL THEN NEW.${col} := (${down}); END IF;`);
    }
  }
  return byTable;
}

/** CREATE OR REPLACE of the function and the trigger (idempotent: safe to run again on resume). */
export function triggerSql(
  migration: string,
  schema: string,
  tableName: string,
  assignments: Assignments,
  oldShape: Shape,
  newShape: Shape,
): string[] {
  const declare = (shape: Shape, row: "NEW" | "OLD") =>
    (shape[tableName]?.columns ?? [])
      .map(
        (c) =>
          `${ident(c.name)} ${ident(BASE_SCHEMA)}.${ident(tableName)}.${ident(c.physical)}%TYPE := ${row}.${ident(c.physical)};`,
      )
      .join("\n      ");
  const block = (shape: Shape, statements: readonly string[]) =>
    statements.length === 0
      ? "NULL;"
      : `DECLARE\n      ${declare(shape, "NEW")}\n    BEGIN\n      ${statements.join("\n      ")}\n    END;`;
  const { derived } = assignments;
  const col = (i: number) => `NEW.${ident(derived[i]!.column)}`;
  // Whether each derived column holds a value of its own (not up's) before this update.
  const ownValue =
    derived.length === 0
      ? ""
      : `IF TG_OP = 'UPDATE' THEN
      DECLARE
        ${declare(oldShape, "OLD")}
      BEGIN
        ${derived.map((d, i) => `_teal_own_${i} := OLD.${ident(d.column)} IS NOT NULL AND OLD.${ident(d.column)} IS DISTINCT FROM (${d.expr});`).join("\n        ")}
      END;
    END IF;`;
  const oldBranch = `DECLARE
    ${derived.map((_, i) => `_teal_own_${i} boolean := false;`).join("\n    ")}
  BEGIN
    ${ownValue}
    ${block(oldShape, [...assignments.up, ...derived.map((d, i) => `IF NOT _teal_own_${i} THEN ${col(i)} := (${d.expr}); END IF;`)])}
  END;`;
  const fn = triggerFunction(migration, tableName);
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $teal$
BEGIN
  IF ${literal(schema)} = ANY (current_schemas(false)) THEN
    ${block(newShape, assignments.down)}
  ELSE
    ${oldBranch}
  END IF;
  RETURN NEW;
END
$teal$`,
    `DROP TRIGGER IF EXISTS ${ident(triggerName(migration))} ON ${table(tableName)}`,
    `CREATE TRIGGER ${ident(triggerName(migration))} BEFORE INSERT OR UPDATE ON ${table(tableName)}
       FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}

export function dropTriggerSql(migration: string, tableName: string): string[] {
  return [
    `DROP TRIGGER IF EXISTS ${ident(triggerName(migration))} ON ${table(tableName)}`,
    `DROP FUNCTION IF EXISTS ${triggerFunction(migration, tableName)}()`,
  ];
}
