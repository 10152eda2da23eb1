/**
 * The shape a version of the app sees: its tables, and for each column the physical column that
 * holds it. Pure: the new version's shape is computed from the old one and the operations, and
 * every operation is checked against the old shape before anything runs.
 */

import { TealError } from "../domain/errors.ts";
import { type Migration, type Operation, operationKind } from "./migration.ts";
import { newColumn } from "./sql.ts";

export interface ShapeColumn {
  /** The name this version uses. */
  readonly name: string;
  /** The column in the base table. */
  readonly physical: string;
}

export type Shape = Readonly<Record<string, { readonly columns: readonly ShapeColumn[] }>>;

/** The new version's shape; throws naming the file, the operation and the field that does not fit. */
export function nextShape(old: Shape, migration: Migration): Shape {
  const shape: Record<string, { columns: ShapeColumn[] }> = {};
  for (const [t, { columns }] of Object.entries(old)) shape[t] = { columns: [...columns] };
  migration.operations.forEach((op, index) => {
    const at = (field: string) => `${migration.file}: operations[${index}].${operationKind(op)}.${field}`;
    applyOperation(shape, op, at);
  });
  return shape;
}

function applyOperation(
  shape: Record<string, { columns: ShapeColumn[] }>,
  op: Operation,
  at: (field: string) => string,
): void {
  const tableOf = (name: string, field = "table") => {
    const t = shape[name];
    if (!t) throw unfit(at(field), `there is no table ${name}`);
    return t;
  };
  const columnOf = (tableName: string, column: string, field: string) => {
    const i = tableOf(tableName).columns.findIndex((c) => c.name === column);
    if (i < 0) throw unfit(at(field), `table ${tableName} has no column ${column}`);
    return i;
  };
  const freeName = (tableName: string, column: string, field: string) => {
    if (tableOf(tableName).columns.some((c) => c.name === column)) {
      throw unfit(at(field), `table ${tableName} already has a column ${column}`);
    }
  };
  if ("create_table" in op) {
    const { table, columns } = op.create_table;
    if (shape[table]) throw unfit(at("table"), `table ${table} already exists`);
    shape[table] = { columns: columns.map((c) => ({ name: c.name, physical: c.name })) };
  } else if ("add_column" in op) {
    const { table, column } = op.add_column;
    freeName(table, column.name, "column.name");
    shape[table]!.columns.push({ name: column.name, physical: column.name });
  } else if ("rename_column" in op) {
    const { table, from, to } = op.rename_column;
    const i = columnOf(table, from, "from");
    freeName(table, to, "to");
    const cols = shape[table]!.columns;
    cols[i] = { name: to, physical: cols[i]!.physical };
  } else if ("alter_column" in op) {
    const { table, column } = op.alter_column;
    const i = columnOf(table, column, "column");
    shape[table]!.columns[i] = { name: column, physical: newColumn(column) };
  } else if ("set_not_null" in op) {
    columnOf(op.set_not_null.table, op.set_not_null.column, "column");
  } else if ("add_constraint" in op) {
    tableOf(op.add_constraint.table);
  } else if ("create_index" in op) {
    const { table, columns } = op.create_index;
    for (const [i, c] of columns.entries()) columnOf(table, c, `columns[${i}]`);
  } else if ("drop_column" in op) {
    const { table, column } = op.drop_column;
    shape[table]!.columns.splice(columnOf(table, column, "column"), 1);
  } else if ("drop_table" in op) {
    tableOf(op.drop_table.table);
    delete shape[op.drop_table.table];
  }
}

/** After the contract every column is stored under the name its version uses. */
export function settledShape(shape: Shape): Shape {
  const out: Record<string, { columns: ShapeColumn[] }> = {};
  for (const [t, { columns }] of Object.entries(shape)) {
    out[t] = { columns: columns.map((c) => ({ name: c.name, physical: c.name })) };
  }
  return out;
}

/** The physical column behind `column` of `tableName` in this shape. */
export function physicalOf(shape: Shape, tableName: string, column: string): string {
  return shape[tableName]?.columns.find((c) => c.name === column)?.physical ?? column;
}

function unfit(where: string, message: string): TealError {
  return new TealError("CONFIG_INVALID", `${where}: ${message}`);
}
