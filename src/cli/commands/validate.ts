/** `teal validate`: checks teal.yaml without starting anything; prints what `teal server` would warn about. */

import { configWarnings } from "../../config/warnings.ts";
import { type GlobalOptions, resolveConfig } from "../context.ts";
import { color, emit, warn } from "../output.ts";

export async function validateCommand(opts: GlobalOptions): Promise<number> {
  const { config, path } = await resolveConfig(opts, true);
  const services = Object.keys(config.services);
  const warnings = configWarnings(config);
  for (const w of warnings) warn(`${w.path}: ${w.message}`);
  emit(
    opts.json,
    { ok: true, config: path, services, warnings },
    () =>
      `${color.green("ok")}: ${path} is valid (${services.length} service${services.length === 1 ? "" : "s"}: ${services.join(", ") || "none"})`,
  );
  return 0;
}
