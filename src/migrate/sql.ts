/** Quoting for the SQL teal writes itself: identifiers always quoted, literals always escaped. */

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The schema that holds the tables themselves; version schemas hold views over it. */
export const BASE_SCHEMA = "public";
/** Where teal keeps its migration state and trigger functions. */
export const STATE_SCHEMA = "teal_migrations";

export function table(name: string): string {
  return `${ident(BASE_SCHEMA)}.${ident(name)}`;
}

/** The schema of views a version of the app sets as its search_path. */
export function versionSchema(migration: string): string {
  return `teal_${migration}`;
}

/** The column that holds an altered column's new value until the contract renames it. */
export function newColumn(column: string): string {
  return `_teal_new_${column}`;
}

/** The NOT VALID check that stands in for NOT NULL until the contract sets the real one. */
export function notNullCheck(column: string): string {
  return `_teal_nn_${column}`;
}

export function triggerName(migration: string): string {
  return `_teal_${migration}`;
}

export function triggerFunction(migration: string, tableName: string): string {
  return `${ident(STATE_SCHEMA)}.${ident(`sync_${migration}_${tableName}`)}`;
}
