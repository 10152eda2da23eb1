/** `teal validate`: checks teal.yaml without starting anything. */

import { type GlobalOptions, resolveConfig } from "../context.ts";
import { color, emit } from "../output.ts";

export async function validateCommand(opts: GlobalOptions): Promise<number> {
  const { config, path } = await resolveConfig(opts, true);
  const services = Object.keys(config.services);
  emit(
    opts.json,
    { ok: true, config: path, services },
    () =>
      `${color.green("ok")}: ${path} is valid (${services.length} service${services.length === 1 ? "" : "s"}: ${services.join(", ") || "none"})`,
  );
  return 0;
}
