/**
 * How a color and a deployment record end: kept warm then scaled down, stopped, finished with an
 * outcome. Shared by the runbook, by rollbacks, and by the recovery after a crash of teal.
 */

import type { DataPlanePort } from "../control/data-plane-port.ts";
import { DRAIN_REPORT_SLACK_MS } from "../control/drain-wait.ts";
import type { RoutingController } from "../control/routing-controller.ts";
import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { type Deployment, movePhase, type RollbackCause } from "../domain/deployment.ts";
import { weightOf } from "../domain/routing.ts";
import type { Logger } from "../log/logger.ts";
import type { DeploymentLog } from "./deployment-log.ts";
import type { FleetInstances } from "./fleet-instances.ts";
import type { ServiceUnit } from "./service-unit.ts";

/** What the deployment steps work with. */
export interface DeployContext {
  readonly controller: RoutingController;
  readonly journal: DeploymentLog;
  readonly dataPlane: DataPlanePort;
  readonly clock: Clock;
  readonly log: Logger;
  /** The services' schema migrations (absent: no service names a database). */
  readonly migrations?: MigrationSteps;
  /** On a fleet with agents: the other nodes' instances, which a deployment waits for too. */
  readonly fleet?: FleetInstances;
  /**
   * On a fleet: whether this node leads (drives deployments). A node that does not runs its
   * agent's instances and writes nothing into the deployments' history. Absent: always.
   */
  readonly leads?: () => boolean;
}

/** What a deployment asks of its service's schema migration (migration-step.ts does it). */
export interface MigrationSteps {
  /** Lints what would be expanded (refusing the deploy) and returns the new color's environment. */
  prepare(ctx: DeployContext, unit: ServiceUnit): Promise<Record<string, string>>;
  /** Expands the pending migration before the new color starts. */
  expand(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void>;
  /** Brings the migration in flight in line with what the live color runs (contract or roll back). */
  settle(ctx: DeployContext, service: string, ending?: number): Promise<void>;
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
      change: (x) => ({ ...x, outcome: "rolled_back", rolledBackBy: d.seq, rollbackCause: "operator" }),
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
  await unit.colors[color].serve();
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

/**
 * Stops a warm color once its scale-down delay has passed. Checked again when the timer fires:
 * never a color that carries traffic, nor one a newer deployment or rollback has taken over.
 */
export async function scaleDown(
  ctx: DeployContext,
  unit: ServiceUnit,
  color: Color,
  seq: number,
): Promise<void> {
  const slot = unit.slot(color);
  if (weightOf(ctx.controller.routing(unit.name), color) > 0 || slot.warmUntil === null) return;
  try {
    if (!(await stopColor(ctx, unit, color))) return;
    await ctx.journal.append(
      unit.name,
      seq,
      "scale_down",
      `stopped ${color} ${slot.version} after the scale-down delay`,
    );
    // The old color is retired: no rollback can need the old schema any more.
    await ctx.migrations?.settle(ctx, unit.name);
  } catch (err) {
    ctx.log.error({ err, service: unit.name, color }, "scale-down failed");
  }
}

/**
 * Stops a color's instances and records that nothing runs there (its version is kept). A stop
 * already in progress is joined, not repeated; a color that carries traffic is never stopped.
 * Resolves false when it refused.
 */
export function stopColor(
  ctx: DeployContext,
  unit: ServiceUnit,
  color: Color,
  options: { evenWithTraffic?: boolean } = {},
): Promise<boolean> {
  const state = unit.colors[color];
  const inProgress = state.retiring;
  if (inProgress) return inProgress;
  const carries = weightOf(ctx.controller.routing(unit.name), color) > 0;
  if (carries && !options.evenWithTraffic) return Promise.resolve(false);
  unit.cancelScaleDown(color);
  return state.retire(
    () => unit.groups[color].stop(),
    () => ctx.controller.refresh(),
  );
}

export async function phase(
  ctx: DeployContext,
  service: string,
  seq: number,
  phase: Deployment["phase"],
  message: string,
): Promise<void> {
  await ctx.journal.append(service, seq, "phase", message, {
    change: (d) => movePhase(d, phase),
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
  rollbackCause: RollbackCause | null = null,
): Promise<void> {
  const message = outcome === "succeeded" ? "deployment succeeded" : `deployment ${outcome}: ${reason}`;
  await ctx.journal.append(service, seq, "phase", message, {
    data: { phase: "finished", outcome, ...(rollbackCause ? { rollbackCause } : {}) },
    change: (d) => ({
      ...movePhase(d, "finished"),
      outcome,
      reason,
      rollbackCause,
      finishedAt: ctx.journal.now(),
    }),
  });
  // Its migration follows (queued per service, not awaited: the deployment has ended): rolled back
  // unless its version is live, contracted if nothing older runs.
  void ctx.migrations?.settle(ctx, service, seq);
}

/** The color that was live finishes its in-flight requests (up to the drain timeout). */
export async function drainPrevious(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void> {
  const limit = unit.config.deployment.drainTimeoutMs;
  await phase(ctx, d.service, d.seq, "draining", `draining ${d.from.color} (up to ${limit} ms)`);
  const drain = await ctx.dataPlane.drained(d.service, d.from.color, limit + DRAIN_REPORT_SLACK_MS);
  const drained =
    drain?.state === "forced" ? `drain deadline passed: ${drain.forced} request(s) cut` : "drained";
  await ctx.journal.append(d.service, d.seq, "drain", `${d.from.color} ${drained}`, {
    ...(drain ? { data: { ...drain } } : {}),
  });
}
