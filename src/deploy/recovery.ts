/**
 * After a crash of teal itself: every deployment that was running is settled (finished if the
 * switch had happened, rolled back if not) with an event that says why, instances that vanished
 * while teal was down are replaced, and warm colors get their scale-down timers back.
 */

import { COLORS, type Color } from "../domain/color.ts";
import type { Deployment } from "../domain/deployment.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import type { Adoption } from "./adoption.ts";
import { type DeployContext, finish, keepWarm, scaleDown, stopColor, succeed } from "./lifecycle.ts";
import type { ServiceUnit } from "./service-unit.ts";
import type { ServiceUnits } from "./service-units.ts";

/**
 * Why deployments were interrupted: teal restarting (the default), or on a fleet another node
 * taking over from a leader that died or stepped down (`event` goes into each one's history).
 */
export interface Interruption {
  /** Appended first to every running deployment's history, e.g. "node b took over from node a: a's lease expired". */
  readonly event?: string;
  /** "teal restarted" (during phase …). */
  readonly what: string;
  /** The failure of a deployment it rolled back: "interrupted by a restart of teal" (during phase …). */
  readonly failure: string;
}

const RESTART: Interruption = { what: "teal restarted", failure: "interrupted by a restart of teal" };

/** Step 2 of a start, with traffic control running: settles what a crash left half done. */
export async function recoverServices(
  ctx: DeployContext,
  units: ServiceUnits,
  adoption: Adoption,
  why: Interruption = RESTART,
): Promise<void> {
  for (const unit of units.all()) {
    try {
      await recover(ctx, unit, adoption, why);
    } catch (err) {
      // One service that cannot be settled (its engine is down, say) must not stop the others.
      ctx.log.error({ err, service: unit.name }, `could not settle ${unit.name} after the restart`);
    }
  }
}

async function recover(
  ctx: DeployContext,
  unit: ServiceUnit,
  adoption: Adoption,
  why: Interruption,
): Promise<void> {
  if (!unit.managed) return;
  const lost = adoption.lost.get(unit.name) ?? new Map<Color, readonly number[]>();
  const routing = ctx.controller.routing(unit.name);
  for (const tracked of await ctx.journal.repository.list(unit.name)) {
    if (tracked.value.outcome !== "running") continue;
    if (why.event !== undefined)
      await ctx.journal.append(unit.name, tracked.value.seq, "recovery", why.event);
    await settleInterrupted(ctx, unit, tracked.value, routing, why);
  }
  for (const color of COLORS) {
    // A stop that the crash interrupted is finished now.
    if (unit.slot(color).state === "stopping") await stopColor(ctx, unit, color);
    await replaceLost(ctx, unit, color, lost.get(color) ?? [], routing, adoption);
  }
  for (const color of COLORS) {
    const slot = unit.slot(color);
    if (slot.state !== "running") continue;
    await unit.colors[color].serve();
    if (slot.warmUntil !== null && weightOf(routing, color) === 0 && slot.deploymentSeq !== null) {
      const seq = slot.deploymentSeq;
      unit.scheduleScaleDown(
        color,
        Date.parse(slot.warmUntil),
        ctx.clock,
        () => void scaleDown(ctx, unit, color, seq),
      );
    }
  }
  await ctx.controller.refresh();
}

async function settleInterrupted(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  routing: RoutingState,
  why: Interruption,
): Promise<void> {
  const switched = weightOf(routing, d.color) === 100 && d.from.color !== d.color;
  if (switched) {
    await ctx.journal.append(
      unit.name,
      d.seq,
      "recovery",
      `${why.what} during phase ${d.phase}; traffic had already been switched to ${d.color} ${d.version}, so the deployment is complete`,
    );
    await unit.colors[d.color].serve();
    await keepWarm(ctx, unit, d.from.color, d.seq);
    await succeed(ctx, d);
    return;
  }
  // A canary step left some traffic on the new color: back to the stable one before stopping it.
  if (weightOf(routing, d.color) > 0 && d.from.color !== d.color) {
    await ctx.controller.command(
      d.service,
      { kind: "switch", to: d.from.color },
      { actor: "teal", deployment: d.seq, force: true },
    );
  }
  // Only instances this deployment started: an instant rollback targets a warm color it did not start.
  const startedHere = unit.slot(d.color).deploymentSeq === d.seq;
  if (startedHere) await stopColor(ctx, unit, d.color);
  await ctx.journal.append(
    unit.name,
    d.seq,
    "recovery",
    `${why.what} during phase ${d.phase}, before all traffic had moved to ${d.color}${startedHere ? `; stopped the new instances of ${d.version}` : ""}; live traffic stayed on ${d.from.color} ${d.from.version ?? ""}`.trim(),
  );
  await finish(ctx, unit.name, d.seq, "failed", `${why.failure} during phase ${d.phase}`);
}

async function replaceLost(
  ctx: DeployContext,
  unit: ServiceUnit,
  color: Color,
  indexes: readonly number[],
  routing: RoutingState,
  adoption: Adoption,
): Promise<void> {
  const slot = unit.slot(color);
  if (slot.state !== "running" || slot.version === null) return;
  // Not adopted because their engine was down: they may well run; replacing them would double
  // them up and overwrite their records. The next start adopts them.
  if (!adoption.adopted(unit.name, color)) return;
  // Gone since the crash, or never recorded at all (a crash between a start and its save).
  const present = new Set(unit.groups[color].records().map((r) => r.index));
  const wanted = unit.planOfSlot(color).instances;
  const missing = [...new Set([...indexes, ...Array.from({ length: wanted }, (_, i) => i)])].filter(
    (i) => !present.has(i),
  );
  if (missing.length === 0) return;
  indexes = missing;
  const warm = slot.warmUntil !== null && Date.parse(slot.warmUntil) > ctx.clock.now();
  const seq = slot.deploymentSeq;
  if (weightOf(routing, color) === 0 && !warm) {
    await stopColor(ctx, unit, color);
    return;
  }
  await unit.groups[color].replace(indexes);
  await unit.setSlot(color, { instances: unit.groups[color].records() });
  const message = `after a restart of teal, ${indexes.length} instance(s) of ${slot.version} on ${color} were gone; started replacements`;
  ctx.log.warn({ service: unit.name, color, indexes }, message);
  if (seq !== null) await ctx.journal.append(unit.name, seq, "recovery", message);
}
