/**
 * The PostgreSQL adapter behind the deployment's SchemaMigrations port: each call opens its own
 * connection (holding the engine's advisory lock), runs the engine and closes it, so a teal server
 * holds no database connection between deployments.
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { MigrationPlan, SchemaMigrations } from "../deploy/schema-migrations.ts";
import { TealError } from "../domain/errors.ts";
import { DEFAULT_OPTIONS, MigrationDatabase } from "./database.ts";
import { activeMigration, complete, rollback, start } from "./engine.ts";
import { lintMigration } from "./lint.ts";
import { loadMigrations } from "./migration-files.ts";
import { versionSchema } from "./sql.ts";
import { ensureStateSchema, readMigrations } from "./state.ts";

export interface DatabaseSource {
  readonly urlEnv?: string | undefined;
  readonly urlFile?: string | undefined;
  readonly migrations: string;
}

export class PostgresMigrations implements SchemaMigrations {
  readonly #source: DatabaseSource;
  readonly #configDir: string;

  constructor(source: DatabaseSource, configDir: string) {
    this.#source = source;
    this.#configDir = configDir;
  }

  async plan(): Promise<MigrationPlan> {
    const migrations = await loadMigrations(resolve(this.#configDir, this.#source.migrations));
    return this.#with(async (db) => {
      const records = await readMigrations(db);
      const active = activeMigration(records);
      // Applied: every completed migration, and one expanded that the live version already runs
      // on (it is contracted once its old color retires, before this deploy's expand).
      const applied = new Set(records.filter((r) => r.phase === "completed").map((r) => r.name));
      if (active?.phase === "expanded") applied.add(active.name);
      const latest = [...applied].sort().at(-1) ?? "";
      const next =
        active && active.phase !== "expanded"
          ? migrations.find((m) => m.name === active.name)
          : migrations.find((m) => !applied.has(m.name) && m.name > latest);
      const current = latest ? versionSchema(latest) : null;
      return {
        pending: next ? { name: next.name, schema: versionSchema(next.name) } : null,
        schema: next ? versionSchema(next.name) : current,
        findings: next ? lintMigration(next) : [],
      };
    });
  }

  inFlight() {
    return this.#with(async (db) => {
      const active = activeMigration(await readMigrations(db));
      return active ? { name: active.name, schema: active.schema, phase: active.phase as "expanded" } : null;
    });
  }

  async expand(progress: (line: string) => void) {
    const migrations = await loadMigrations(resolve(this.#configDir, this.#source.migrations));
    return this.#with(async (db) => {
      const outcome = await start(db, migrations);
      return outcome.kind === "nothing-to-do" ? null : { name: outcome.migration, schema: outcome.schema };
    }, progress);
  }

  async complete(): Promise<void> {
    await this.#with((db) => complete(db));
  }

  async rollback(): Promise<void> {
    await this.#with((db) => rollback(db));
  }

  async #with<T>(run: (db: MigrationDatabase) => Promise<T>, progress?: (line: string) => void): Promise<T> {
    const { url, source } = await this.#url();
    const db = await MigrationDatabase.open(url, source, {
      ...DEFAULT_OPTIONS,
      progress: progress ?? (() => {}),
    });
    try {
      await ensureStateSchema(db);
      return await run(db);
    } finally {
      await db.close();
    }
  }

  async #url(): Promise<{ url: string; source: string }> {
    const { urlEnv, urlFile } = this.#source;
    if (urlEnv) {
      const url = process.env[urlEnv]?.trim();
      if (!url)
        throw new TealError(
          "DATABASE_FAILED",
          `database.urlEnv: $${urlEnv} is not set in teal's environment`,
        );
      return { url, source: `$${urlEnv}` };
    }
    const file = resolve(this.#configDir, urlFile ?? "");
    const text = await readFile(file, "utf8").catch(() => {
      throw new TealError("DATABASE_FAILED", `database.urlFile: cannot read ${file}`);
    });
    if (!text.trim()) throw new TealError("DATABASE_FAILED", `database.urlFile: ${file} is empty`);
    return { url: text.trim(), source: file };
  }
}
