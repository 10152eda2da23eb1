/**
 * `teal migrate start|complete|rollback|status|lint`: schema changes both colors can live with.
 * Talks to the database directly (not to the teal server): the connection string comes from an
 * environment variable or a file, never from the command line or teal.yaml, and is never printed.
 */

import { readFile } from "node:fs/promises";
import { TealError } from "../../domain/errors.ts";
import { DEFAULT_OPTIONS, type MigrateOptions, MigrationDatabase } from "../../migrate/database.ts";
import { activeMigration, complete, rollback, start } from "../../migrate/engine.ts";
import { type LintFinding, lintMigration } from "../../migrate/lint.ts";
import type { Migration } from "../../migrate/migration.ts";
import { loadMigrations } from "../../migrate/migration-files.ts";
import { readBackfills, readMigrations } from "../../migrate/state.ts";
import type { GlobalOptions } from "../context.ts";
import { color, emit } from "../output.ts";

export interface MigrateFlags extends GlobalOptions {
  readonly dir?: string;
  readonly databaseEnv?: string;
  readonly databaseFile?: string;
  readonly lockTimeoutMs?: string;
  readonly batchSize?: string;
  readonly allowUnsafe?: boolean;
}

export type MigrateAction = "start" | "complete" | "rollback" | "status" | "lint";

export async function migrateCommand(action: MigrateAction, opts: MigrateFlags): Promise<number> {
  const migrations = await loadMigrations(requireDir(opts));
  if (action === "lint") return lintCommand(migrations, opts);
  const db = await openDatabase(opts);
  try {
    switch (action) {
      case "start":
        return await startCommand(db, migrations, opts);
      case "complete": {
        const outcome = await complete(db);
        emit(opts.json, outcome, () =>
          outcome.kind === "completed"
            ? `${color.green("completed")}: migration ${outcome.migration}; only schema ${outcome.schema} remains`
            : "nothing to complete: no migration is expanded",
        );
        return 0;
      }
      case "rollback": {
        const outcome = await rollback(db);
        emit(opts.json, outcome, () =>
          outcome.kind === "rolled-back"
            ? `${color.green("rolled back")}: migration ${outcome.migration} (schema ${outcome.schema} removed)`
            : "nothing to roll back: no migration is in flight",
        );
        return 0;
      }
      case "status":
        return await statusCommand(db, migrations, opts);
    }
  } finally {
    await db.close();
  }
}

async function startCommand(
  db: MigrationDatabase,
  migrations: Migration[],
  opts: MigrateFlags,
): Promise<number> {
  if (!opts.allowUnsafe) {
    const findings = migrations.flatMap(lintMigration);
    const completed = new Set(
      (await readMigrations(db)).filter((r) => r.phase === "completed").map((r) => r.name),
    );
    const blocking = findings.filter((f) => !completed.has(migrationOf(migrations, f)));
    if (blocking.length > 0) {
      throw new TealError(
        "UNSUPPORTED",
        `refused: the migration would break the running version or block its writes:\n${blocking.map(describe).join("\n")}\n(run \`teal migrate lint\` for details; --allow-unsafe to apply anyway)`,
      );
    }
  }
  const outcome = await start(db, migrations);
  emit(opts.json, outcome, () => {
    switch (outcome.kind) {
      case "expanded":
        return `${color.green("expanded")}: migration ${outcome.migration}${outcome.resumed ? " (resumed)" : ""}; the new version uses schema ${outcome.schema} (TEAL_DB_SCHEMA=${outcome.schema}, search_path=${outcome.schema})`;
      case "already-expanded":
        return `migration ${outcome.migration} is already expanded (schema ${outcome.schema}): run \`teal migrate complete\` or \`teal migrate rollback\``;
      case "nothing-to-do":
        return "nothing to migrate: every migration is completed";
    }
  });
  return 0;
}

async function statusCommand(
  db: MigrationDatabase,
  migrations: Migration[],
  opts: MigrateFlags,
): Promise<number> {
  const records = await readMigrations(db);
  const active = activeMigration(records);
  const backfills = active ? await readBackfills(db, active.name) : [];
  const pending = migrations.filter(
    (m) => !records.some((r) => r.name === m.name && r.phase !== "rolled_back"),
  );
  const data = {
    migrations: records.map((r) => ({
      name: r.name,
      phase: r.phase,
      step: r.step,
      schema: r.schema,
      previousSchema: r.previousSchema,
      updatedAt: r.updatedAt,
    })),
    active: active
      ? {
          name: active.name,
          phase: active.phase,
          step: active.step,
          schema: active.schema,
          previousSchema: active.previousSchema,
          backfills,
        }
      : null,
    pending: pending.map((m) => m.name),
  };
  emit(opts.json, data, () => {
    const lines = records.map(
      (r) =>
        `${r.name}  ${r.phase === "completed" ? color.green(r.phase) : color.yellow(r.phase)}  step ${r.step}  schema ${r.schema}`,
    );
    if (active) {
      lines.push(
        `in flight: ${active.name} (${active.phase} after step ${active.step}); versions: ${active.previousSchema} (old) and ${active.schema} (new)`,
      );
      for (const b of backfills) {
        lines.push(
          `  backfill ${b.table}: ${b.rowsDone} rows${b.done ? ", done" : `, up to key ${b.lastKey ?? "(none yet)"}`}`,
        );
      }
    }
    lines.push(`pending: ${pending.map((m) => m.name).join(", ") || "none"}`);
    return lines.join("\n");
  });
  return 0;
}

function lintCommand(migrations: Migration[], opts: MigrateFlags): number {
  const findings = migrations.flatMap(lintMigration);
  emit(opts.json, { ok: findings.length === 0, findings }, () =>
    findings.length === 0
      ? `${color.green("ok")}: ${migrations.length} migration${migrations.length === 1 ? "" : "s"}, nothing unsafe`
      : findings.map((f) => `${describe(f)}\n    fix: ${f.fix}`).join("\n"),
  );
  return findings.length === 0 ? 0 : 1;
}

function describe(f: LintFinding): string {
  return `${f.file}: ${f.path}: ${f.rule}: ${f.message}`;
}

function migrationOf(migrations: Migration[], f: LintFinding): string {
  return migrations.find((m) => m.file === f.file)?.name ?? "";
}

function requireDir(opts: MigrateFlags): string {
  if (!opts.dir)
    throw new TealError("USAGE", "--dir is required: the directory that holds the migration files");
  return opts.dir;
}

async function openDatabase(opts: MigrateFlags): Promise<MigrationDatabase> {
  const { url, source } = await connectionString(opts);
  const options: MigrateOptions = {
    ...DEFAULT_OPTIONS,
    lockTimeoutMs: positive(opts.lockTimeoutMs, "--lock-timeout-ms", DEFAULT_OPTIONS.lockTimeoutMs),
    batchSize: positive(opts.batchSize, "--batch-size", DEFAULT_OPTIONS.batchSize),
    progress: (line) => {
      if (!opts.json) process.stderr.write(`${line}\n`);
    },
  };
  return MigrationDatabase.open(url, source, options);
}

async function connectionString(opts: MigrateFlags): Promise<{ url: string; source: string }> {
  if (opts.databaseEnv && opts.databaseFile) {
    throw new TealError("USAGE", "--database-env and --database-file: give only one");
  }
  if (opts.databaseEnv) {
    const url = process.env[opts.databaseEnv]?.trim();
    if (!url)
      throw new TealError(
        "USAGE",
        `--database-env: $${opts.databaseEnv} is not set: export the connection string in it`,
      );
    return { url, source: `$${opts.databaseEnv}` };
  }
  if (opts.databaseFile) {
    let text: string;
    try {
      text = await readFile(opts.databaseFile, "utf8");
    } catch (err) {
      throw new TealError(
        "USAGE",
        `--database-file: cannot read ${opts.databaseFile}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    if (!text.trim()) throw new TealError("USAGE", `--database-file: ${opts.databaseFile} is empty`);
    return { url: text.trim(), source: opts.databaseFile };
  }
  throw new TealError(
    "USAGE",
    "no database: pass --database-env NAME (an environment variable holding the connection string) or --database-file PATH",
  );
}

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new TealError("USAGE", `${flag}: must be a positive whole number, got "${value}"`);
  return n;
}
