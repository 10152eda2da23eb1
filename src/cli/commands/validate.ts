/**
 * `teal validate`: checks teal.yaml without starting anything; prints what `teal server` would warn
 * about, and the problems of proxy.tls's certificate files (validate-tls.ts), which exit 1.
 */

import { dirname, resolve } from "node:path";
import type { TealConfig } from "../../config/schema.ts";
import { configWarnings } from "../../config/warnings.ts";
import { lintMigration } from "../../migrate/lint.ts";
import { loadMigrations } from "../../migrate/migration-files.ts";
import { type GlobalOptions, resolveConfig } from "../context.ts";
import { color, EXIT, emit, warn } from "../output.ts";
import { tlsFindings } from "./validate-tls.ts";

export async function validateCommand(opts: GlobalOptions): Promise<number> {
  const { config, path } = await resolveConfig(opts, true);
  const services = Object.keys(config.services);
  const tls = tlsFindings(config, new Date());
  const warnings = [
    ...configWarnings(config),
    ...(await migrationWarnings(config, dirname(path ?? "."))),
    ...tls.warnings,
  ];
  for (const w of warnings) warn(`${w.path}: ${w.message}`);
  if (tls.problems.length > 0) {
    if (!opts.json) {
      for (const p of tls.problems) process.stderr.write(`error: ${p.path}: ${p.message}\n`);
    }
    emit(
      opts.json,
      { ok: false, config: path, services, warnings, problems: tls.problems },
      () =>
        `${path} is not valid: ${tls.problems.length} problem${tls.problems.length === 1 ? "" : "s"} above`,
    );
    return EXIT.failed;
  }
  emit(
    opts.json,
    { ok: true, config: path, services, warnings },
    () =>
      `${color.green("ok")}: ${path} is valid (${services.length} service${services.length === 1 ? "" : "s"}: ${services.join(", ") || "none"})`,
  );
  return 0;
}

/**
 * The migration lint of each service's migrations directory (offline: every file, as the database
 * is not asked which are applied). `teal deploy` refuses a pending migration with any finding.
 */
async function migrationWarnings(
  config: TealConfig,
  configDir: string,
): Promise<{ path: string; message: string }[]> {
  const out: { path: string; message: string }[] = [];
  for (const [name, svc] of Object.entries(config.services)) {
    if (!svc.database) continue;
    const migrations = await loadMigrations(resolve(configDir, svc.database.migrations));
    for (const f of migrations.flatMap(lintMigration)) {
      out.push({
        path: `services.${name}.database.migrations`,
        message: `${f.file}: ${f.path}: ${f.rule}: ${f.message} (fix: ${f.fix}); teal deploy refuses it while it is pending`,
      });
    }
  }
  return out;
}
