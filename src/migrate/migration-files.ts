/** Reads a service's migrations directory: one YAML or JSON file per release, applied in name order. */

import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { parse } from "yaml";
import { describeIssues } from "../config/load.ts";
import { TealError } from "../domain/errors.ts";
import { type Migration, migrationSchema } from "./migration.ts";

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);
/** The name becomes part of a schema name (`teal_<name>`), so it keeps to what needs no quoting. */
const NAME = /^[a-z0-9_]{1,50}$/;

/** Every migration in `dir`, sorted by file name. Any invalid file fails the whole load. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new TealError(
      "CONFIG_NOT_FOUND",
      `migrations directory ${dir} cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const files = entries.filter((f) => EXTENSIONS.has(extname(f))).sort();
  const migrations: Migration[] = [];
  for (const f of files) migrations.push(await loadMigrationFile(join(dir, f)));
  return migrations;
}

export async function loadMigrationFile(file: string): Promise<Migration> {
  const base = file.split("/").at(-1)!;
  const name = base.slice(0, base.length - extname(base).length);
  if (!NAME.test(name)) {
    throw invalid(
      file,
      "file name",
      "must be lower-case letters, digits and _ (it names the version's schema)",
    );
  }
  const text = await readFile(file, "utf8");
  let raw: unknown;
  try {
    raw = extname(file) === ".json" ? JSON.parse(text) : parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw invalid(file, "", `cannot be parsed: ${(err as Error).message.split("\n")[0]}`);
  }
  return parseMigration(raw, name, file);
}

/** Validates a parsed file; errors name the file, the operation index and the field. */
export function parseMigration(raw: unknown, name: string, file: string): Migration {
  const result = migrationSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    const lines = problems.map((p) => `${file}: ${p.path || "(top level)"}: ${p.message}`);
    throw new TealError("CONFIG_INVALID", lines.join("\n"), { details: { file, problems } });
  }
  return { name, file, operations: result.data.operations };
}

function invalid(file: string, path: string, message: string): TealError {
  return new TealError("CONFIG_INVALID", `${file}: ${path ? `${path}: ` : ""}${message}`, {
    details: { file, problems: [{ path, message }] },
  });
}
