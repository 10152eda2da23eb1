/**
 * A version's schema: one simple view per table, renaming physical columns to the names that
 * version uses. Simple views are updatable in Postgres, so the app reads and writes through them
 * as if they were its tables, on the same rows as every other version.
 */

import type { Shape } from "./shape.ts";
import { ident, table } from "./sql.ts";

export function viewsSql(schema: string, shape: Shape): string[] {
  const out = [`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`];
  for (const [t, { columns }] of Object.entries(shape)) {
    const select = columns.map((c) => `${ident(c.physical)} AS ${ident(c.name)}`).join(", ");
    out.push(`DROP VIEW IF EXISTS ${ident(schema)}.${ident(t)}`);
    out.push(`CREATE VIEW ${ident(schema)}.${ident(t)} AS SELECT ${select} FROM ${table(t)}`);
  }
  return out;
}

export function dropViewsSql(schema: string, shape: Shape): string[] {
  return Object.keys(shape).map((t) => `DROP VIEW IF EXISTS ${ident(schema)}.${ident(t)}`);
}
