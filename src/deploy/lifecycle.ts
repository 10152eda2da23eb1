/**
 * How a color and a deployment record end: kept warm then scaled down, stopped, finished with an
 * outcome. Shared by the runbook, by rollbacks, and by the recovery after a crash of teal.
 */

import type { DataPlanePort } from "../control/data-plane-port.ts";
import type { RoutingController } from "../control/routing-controller.ts";
import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { Deployment } from "../domain/deployment.ts";
import type { Logger } from "../log/logger.ts";
import type { DeploymentLog } from "./deployment-log.ts";
import type { ServiceUnit } from "./service-unit.ts";

/** What the deployment steps work with. */
export interface DeployContext {
  readonly controller: RoutingController;
  readonly journal: DeploymentLog;
  readonly dataPlane: DataPlanePort;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Marks a deployment succeeded, and the one it rolled back (if any) as rolled back. */
export async function succeed(ctx: DeployContext, d: Deployment): Promise<void> {
  await finish(ctx, d.service, d.seq, "succeeded", null);
  if (d.rollbackOf === null) return;
  await ctx.journal.append(
    d.service,
    d.rollbackOf,
    "rollback",
    `rolled back by #${d.seq} (${d.version} on ${d.color})`,
    {
      actor: d.actor,
      change: (x) => ({ ...x, outcome: "rolled_back", rolledBackBy: d.seq }),
    },
  );
}

/** The previous color stays up for the scale-down delay, then it is stopped. */
export async function keepWarm(
  ctx: DeployContext,
  unit: ServiceUnit,
  color: Color,
  seq: number,
): Promise<void> {
  const slot = unit.slot(color);
  if (unit.groups[color].size === 0) return;
  const delayMs = unit.config.deployment.scaleDownDelayMs;
  const at = ctx.clock.now() + delayMs;
  unit.groups[color].restartOnExit = true;
  await unit.setSlot(color, { warmUntil: new Date(at).toISOString() });
  await ctx.journal.append(
    unit.name,
    seq,
    "scale_down",
    delayMs === 0
      ? `stopping ${color} ${slot.version}`
      : `${color} ${slot.version} stays warm for ${delayMs} ms (until ${new Date(at).toISOString()}) for an instant rollback`,
  );
  unit.scheduleScaleDown(color, at, ctx.clock, () => void scaleDown(ctx, unit, color, seq));
}

/** Stops a warm color once its scale-down delay has passed (never the live one). */
export async function scaleDown(
  ctx: DeployContext,
  unit: ServiceUnit,
  color: Color,
  seq: number,
): Promise<void> {
  if (ctx.controller.routing(unit.name).live === color) return;
  const version = unit.slot(color).version;
  try {
    await stopColor(ctx, unit, color);
    await ctx.journal.append(
      unit.name,
      seq,
      "scale_down",
      `stopped ${color} ${version} after the scale-down delay`,
    );
  } catch (err) {
    ctx.log.error({ err, service: unit.name, color }, "scale-down failed");
  }
}

/** Stops a color's instances and records that nothing runs there (its version is kept). */
export async function stopColor(ctx: DeployContext, unit: ServiceUnit, color: Color): Promise<void> {
  unit.cancelScaleDown(color);
  await unit.setSlot(color, { state: "stopping" });
  await unit.groups[color].stop();
  await unit.setSlot(color, { state: "stopped", instances: [], warmUntil: null });
  await ctx.controller.refresh();
}

export async function phase(
  ctx: DeployContext,
  service: string,
  seq: number,
  phase: Deployment["phase"],
  message: string,
): Promise<void> {
  await ctx.journal.append(service, seq, "phase", message, {
    change: (d) => ({ ...d, phase }),
    data: { phase },
  });
}

/** Ends a deployment with an outcome, as one recorded event. */
export async function finish(
  ctx: DeployContext,
  service: string,
  seq: number,
  outcome: Deployment["outcome"],
  reason: string | null,
): Promise<void> {
  const message = outcome === "succeeded" ? "deployment succeeded" : `deployment ${outcome}: ${reason}`;
  await ctx.journal.append(service, seq, "phase", message, {
    data: { phase: "finished", outcome },
    change: (d) => ({ ...d, phase: "finished", outcome, reason, finishedAt: ctx.journal.now() }),
  });
}
