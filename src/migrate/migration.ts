/**
 * A migration: one file per release (YAML or JSON) holding a list of operations, validated once
 * here with zod into typed operations. The engine, the lint and the CLI all read this shape.
 */

import { z } from "zod";

/**
 * A Postgres identifier teal accepts: lower-case, so views and triggers never need case rules;
 * up to 50 characters, so teal's own names built on it (`_teal_new_<column>`) fit Postgres' 63.
 */
const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,49}$/, "must be a lower-case SQL name (a-z, 0-9, _; up to 50 characters)")
  .refine((name) => !name.startsWith("_teal_"), "must not start with _teal_ (reserved for teal's columns)");
/** A SQL type or expression, written as Postgres reads it. Never empty. */
const sqlText = z.string().trim().min(1, "must not be empty");

const columnSchema = z.strictObject({
  name: identifier,
  type: sqlText,
  nullable: z.boolean().default(true),
  default: sqlText.optional(),
  primary_key: z.boolean().default(false),
  unique: z.boolean().default(false),
  references: z.strictObject({ table: identifier, column: identifier }).optional(),
});
export type ColumnDef = z.infer<typeof columnSchema>;

const createTable = z.strictObject({
  table: identifier,
  columns: z.array(columnSchema).min(1, "needs at least one column"),
});
const addColumn = z.strictObject({
  table: identifier,
  column: columnSchema,
  /** How to fill the column for existing rows and for rows the old version writes. */
  up: sqlText.optional(),
});
const renameColumn = z.strictObject({ table: identifier, from: identifier, to: identifier });
const alterColumn = z.strictObject({
  table: identifier,
  column: identifier,
  type: sqlText.optional(),
  nullable: z.boolean().optional(),
  /** The new column's value computed from the old version's row. */
  up: sqlText,
  /** The old column's value computed from the new version's row. */
  down: sqlText,
});
const setNotNull = z.strictObject({
  table: identifier,
  column: identifier,
  /** The value for rows (existing, or written by the old version) that hold NULL. */
  up: sqlText,
});
const addConstraint = z
  .strictObject({
    table: identifier,
    name: identifier,
    check: sqlText.optional(),
    unique: z.array(identifier).min(1).optional(),
    foreign_key: z
      .strictObject({
        columns: z.array(identifier).min(1),
        references: z.strictObject({ table: identifier, columns: z.array(identifier).min(1) }),
        on_delete: z.enum(["no action", "restrict", "cascade", "set null", "set default"]).optional(),
      })
      .optional(),
  })
  .refine(
    (c) => [c.check, c.unique, c.foreign_key].filter((x) => x !== undefined).length === 1,
    "needs exactly one of check, unique or foreign_key",
  );
const createIndex = z.strictObject({
  table: identifier,
  name: identifier,
  columns: z.array(identifier).min(1),
  unique: z.boolean().default(false),
  method: z.enum(["btree", "hash", "gin", "gist", "brin"]).default("btree"),
});
const dropColumn = z.strictObject({
  table: identifier,
  column: identifier,
  /** The old column's value for rows the new version writes (needed when it is NOT NULL without default). */
  down: sqlText.optional(),
});
const dropTable = z.strictObject({ table: identifier });
const rawSql = z.strictObject({
  up: sqlText,
  /** Undoes `up` on rollback; without it a rollback of this migration is refused. */
  down: sqlText.optional(),
});

const operationSchema = z.union([
  z.strictObject({ create_table: createTable }),
  z.strictObject({ add_column: addColumn }),
  z.strictObject({ rename_column: renameColumn }),
  z.strictObject({ alter_column: alterColumn }),
  z.strictObject({ set_not_null: setNotNull }),
  z.strictObject({ add_constraint: addConstraint }),
  z.strictObject({ create_index: createIndex }),
  z.strictObject({ drop_column: dropColumn }),
  z.strictObject({ drop_table: dropTable }),
  z.strictObject({ sql: rawSql }),
]);

export const migrationSchema = z.strictObject({
  operations: z.array(operationSchema).min(1, "needs at least one operation"),
});

export type Operation = z.infer<typeof operationSchema>;
export type CreateTable = z.infer<typeof createTable>;
export type AddColumn = z.infer<typeof addColumn>;
export type RenameColumn = z.infer<typeof renameColumn>;
export type AlterColumn = z.infer<typeof alterColumn>;
export type SetNotNull = z.infer<typeof setNotNull>;
export type AddConstraint = z.infer<typeof addConstraint>;
export type CreateIndex = z.infer<typeof createIndex>;
export type DropColumn = z.infer<typeof dropColumn>;
export type RawSql = z.infer<typeof rawSql>;

/** A migration as loaded: its name (the file name without extension) and where it came from. */
export interface Migration {
  readonly name: string;
  /** The file, relative to where the user ran teal, for messages. */
  readonly file: string;
  readonly operations: readonly Operation[];
}

export type OperationKind =
  | "create_table"
  | "add_column"
  | "rename_column"
  | "alter_column"
  | "set_not_null"
  | "add_constraint"
  | "create_index"
  | "drop_column"
  | "drop_table"
  | "sql";

export function operationKind(op: Operation): OperationKind {
  return Object.keys(op)[0] as OperationKind;
}
