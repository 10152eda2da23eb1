/** Which strategy a deployment uses: the service's, or the one a deploy asked for by name. */

import { PRESETS, type StrategyConfig } from "../config/schema.ts";
import { TealError } from "../domain/errors.ts";
import type { ServiceUnit } from "./service-unit.ts";

export function strategyFor(unit: ServiceUnit, name: string | undefined): StrategyConfig {
  const configured = unit.config.strategy;
  if (name === undefined) return configured;
  const monitor = configured.monitor;
  if (name === "blueGreen") return { blueGreen: { autoPromote: true }, monitor };
  if (name === "canary") {
    if ("canary" in configured) return configured;
    throw new TealError(
      "INVALID_REQUEST",
      `strategy: ${unit.name} has no canary steps in its config (services.${unit.name}.strategy.canary.steps); use a preset such as Canary10Percent5Minutes`,
    );
  }
  if ((PRESETS as readonly string[]).includes(name))
    return { preset: name as (typeof PRESETS)[number], monitor };
  throw new TealError(
    "INVALID_REQUEST",
    `strategy: must be blueGreen, canary or a preset (${PRESETS.join(", ")}), not "${name}"`,
  );
}
