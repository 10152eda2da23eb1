/**
 * The migration lint: flags what would break the running (old) version or hold a lock that stops
 * its writers, each with the operation and the fix. Teal's own operations are safe by
 * construction except where a field makes them unsafe; raw SQL is checked statement by statement
 * for the patterns squawk and strong_migrations warn about.
 */

import type { Migration, Operation } from "./migration.ts";
import { operationKind } from "./migration.ts";

export type LintRule =
  | "drop-outside-contract"
  | "rename-outside-contract"
  | "type-change-in-place"
  | "not-null-without-default"
  | "set-not-null-in-place"
  | "index-without-concurrently"
  | "constraint-validated-at-once"
  | "concurrently-in-transaction";

export interface LintFinding {
  readonly file: string;
  readonly operation: number;
  /** Where in the file: `operations[1].sql.up`. */
  readonly path: string;
  readonly rule: LintRule;
  readonly message: string;
  readonly fix: string;
}

interface SqlCheck {
  readonly rule: LintRule;
  readonly test: (statement: string) => boolean;
  readonly message: string;
  readonly fix: string;
}

const has = (re: RegExp) => (s: string) => re.test(s);

const SQL_CHECKS: readonly SqlCheck[] = [
  {
    rule: "drop-outside-contract",
    test: (s) =>
      /\bdrop\s+(table|column)\b/.test(s) ||
      (/^alter\s+table\b/.test(s) && /\bdrop\s+(?!constraint|default|not\s+null|index)\w/.test(s)),
    message: "drops a table or column the running version still reads",
    fix: "use a drop_table or drop_column operation: the drop then happens at `teal migrate complete`",
  },
  {
    rule: "rename-outside-contract",
    test: has(/\brename\s+(column\s+)?\w+\s+to\b|\brename\s+to\b/),
    message: "renames a table or column under the running version",
    fix: "use a rename_column operation: the new name is a view column until `teal migrate complete`",
  },
  {
    rule: "type-change-in-place",
    test: has(/\balter\s+(column\s+)?\w+\s+(set\s+data\s+)?type\b/),
    message:
      "changes a column's type in place: rewrites the table under an exclusive lock and breaks the running version",
    fix: "use an alter_column operation with up and down expressions",
  },
  {
    rule: "set-not-null-in-place",
    test: has(/\bset\s+not\s+null\b/),
    message:
      "SET NOT NULL scans the whole table under an exclusive lock, and the running version may still write NULL",
    fix: "use a set_not_null operation with an up expression (a NOT VALID check, validated, then the real NOT NULL at complete)",
  },
  {
    rule: "not-null-without-default",
    test: (s) => /\badd\s+(column\s+)?\w+\s+[^,]*\bnot\s+null\b/.test(s) && !/\bdefault\b/.test(s),
    message: "adds a NOT NULL column without a default: the running version's inserts fail",
    fix: "give the column a default, or use an add_column operation with an up expression",
  },
  {
    rule: "index-without-concurrently",
    test: (s) => /^create\s+(unique\s+)?index\b/.test(s) && !/\bconcurrently\b/.test(s),
    message: "builds an index under a lock that blocks every write to the table",
    fix: "use a create_index operation (built CONCURRENTLY)",
  },
  {
    rule: "constraint-validated-at-once",
    test: (s) =>
      /\badd\s+(constraint\s+\w+\s+)?(check|foreign\s+key|unique|primary\s+key|exclude)\b/.test(s) &&
      !/\bnot\s+valid\b/.test(s) &&
      !/\busing\s+index\b/.test(s),
    message: "adds a constraint validated at once: scans the table while writers wait",
    fix: "use an add_constraint operation (added NOT VALID, then validated; unique via an index built CONCURRENTLY)",
  },
  {
    rule: "concurrently-in-transaction",
    test: has(/\bconcurrently\b/),
    message: "CONCURRENTLY cannot run inside expand's transaction",
    fix: "use a create_index operation, which teal runs outside any transaction",
  },
];

export function lintMigration(migration: Migration): LintFinding[] {
  const findings: LintFinding[] = [];
  migration.operations.forEach((op, index) => {
    for (const f of lintOperation(op)) {
      findings.push({
        file: migration.file,
        operation: index,
        path: `operations[${index}].${operationKind(op)}.${f.field}`,
        ...f,
      });
    }
  });
  return findings;
}

function lintOperation(op: Operation): { field: string; rule: LintRule; message: string; fix: string }[] {
  if ("add_column" in op) {
    const { column, up } = op.add_column;
    if (!column.nullable && column.default === undefined && up === undefined) {
      return [
        {
          field: "column.nullable",
          rule: "not-null-without-default",
          message: `column ${column.name} is NOT NULL without a default or an up expression: existing rows and the running version's inserts have no value for it`,
          fix: "add a default, or an up expression that computes it from the row",
        },
      ];
    }
  }
  if ("sql" in op) {
    const out: { field: string; rule: LintRule; message: string; fix: string }[] = [];
    for (const statement of statements(op.sql.up)) {
      for (const check of SQL_CHECKS) {
        if (check.test(statement) && !out.some((o) => o.rule === check.rule)) {
          out.push({
            field: "up",
            rule: check.rule,
            message: `${check.message} (${shorten(statement)})`,
            fix: check.fix,
          });
        }
      }
    }
    return out;
  }
  return [];
}

/** Statements, lower-cased, comments and string literals removed (a literal never trips a check). */
export function statements(sql: string): string[] {
  return sql
    .replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, (m) => (m.startsWith("'") ? "''" : " "))
    .toLowerCase()
    .split(";")
    .map((s) => s.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

function shorten(statement: string): string {
  return statement.length > 60 ? `${statement.slice(0, 57)}...` : statement;
}
