/**
 * After a crash of teal itself: every deployment that was running is settled (finished if the
 * switch had happened, rolled back if not) with an event that says why, instances that vanished
 * while teal was down are replaced, and warm colors get their scale-down timers back.
 */

import { COLORS, type Color } from "../domain/color.ts";
import type { Deployment } from "../domain/deployment.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import type { Deployer } from "./deployer.ts";
import { finish, keepWarm, scaleDown, stopColor, succeed } from "./lifecycle.ts";
import type { ServiceUnit } from "./service-unit.ts";

export async function recover(
  deployer: Deployer,
  unit: ServiceUnit,
  lost: Map<Color, number[]>,
): Promise<void> {
  if (!unit.managed) return;
  const routing = deployer.controller.routing(unit.name);
  for (const tracked of await deployer.journal.repository.list(unit.name)) {
    if (tracked.value.outcome === "running") await settleInterrupted(deployer, unit, tracked.value, routing);
  }
  for (const color of COLORS) {
    // A stop that the crash interrupted is finished now.
    if (unit.slot(color).state === "stopping") await stopColor(deployer, unit, color);
    await replaceLost(deployer, unit, color, lost.get(color) ?? [], routing);
  }
  for (const color of COLORS) {
    const slot = unit.slot(color);
    if (slot.state !== "running") continue;
    unit.groups[color].restartOnExit = true;
    if (slot.warmUntil !== null && weightOf(routing, color) === 0 && slot.deploymentSeq !== null) {
      const seq = slot.deploymentSeq;
      unit.scheduleScaleDown(
        color,
        Date.parse(slot.warmUntil),
        deployer.clock,
        () => void scaleDown(deployer, unit, color, seq),
      );
    }
  }
  await deployer.controller.refresh();
}

async function settleInterrupted(
  deployer: Deployer,
  unit: ServiceUnit,
  d: Deployment,
  routing: RoutingState,
): Promise<void> {
  const switched = weightOf(routing, d.color) === 100 && d.from.color !== d.color;
  if (switched) {
    await deployer.journal.append(
      unit.name,
      d.seq,
      "recovery",
      `teal restarted during phase ${d.phase}; traffic had already been switched to ${d.color} ${d.version}, so the deployment is complete`,
    );
    await unit.setSlot(d.color, { state: "running" });
    await keepWarm(deployer, unit, d.from.color, d.seq);
    await succeed(deployer, d);
    return;
  }
  // A canary step left some traffic on the new color: back to the stable one before stopping it.
  if (weightOf(routing, d.color) > 0 && d.from.color !== d.color) {
    await deployer.controller.command(
      d.service,
      { kind: "switch", to: d.from.color },
      { actor: "teal", deployment: d.seq, force: true },
    );
  }
  // Only instances this deployment started: an instant rollback targets a warm color it did not start.
  const startedHere = unit.slot(d.color).deploymentSeq === d.seq;
  if (startedHere) await stopColor(deployer, unit, d.color);
  await deployer.journal.append(
    unit.name,
    d.seq,
    "recovery",
    `teal restarted during phase ${d.phase}, before all traffic had moved to ${d.color}${startedHere ? `; stopped the new instances of ${d.version}` : ""}; live traffic stayed on ${d.from.color} ${d.from.version ?? ""}`.trim(),
  );
  await finish(
    deployer,
    unit.name,
    d.seq,
    "failed",
    `interrupted by a restart of teal during phase ${d.phase}`,
  );
}

async function replaceLost(
  deployer: Deployer,
  unit: ServiceUnit,
  color: Color,
  indexes: readonly number[],
  routing: RoutingState,
): Promise<void> {
  const slot = unit.slot(color);
  if (slot.state !== "running" || slot.version === null) return;
  // Not adopted because their engine was down: they may well run; replacing them would double
  // them up and overwrite their records. The next start adopts them.
  if (!deployer.adopted(unit.name, color)) return;
  // Gone since the crash, or never recorded at all (a crash between a start and its save).
  const present = new Set(unit.groups[color].records().map((r) => r.index));
  const wanted = unit.planOfSlot(color).instances;
  const missing = [...new Set([...indexes, ...Array.from({ length: wanted }, (_, i) => i)])].filter(
    (i) => !present.has(i),
  );
  if (missing.length === 0) return;
  indexes = missing;
  const warm = slot.warmUntil !== null && Date.parse(slot.warmUntil) > deployer.clock.now();
  const seq = slot.deploymentSeq;
  if (weightOf(routing, color) === 0 && !warm) {
    await stopColor(deployer, unit, color);
    return;
  }
  await unit.groups[color].replace(indexes);
  await unit.setSlot(color, { instances: unit.groups[color].records() });
  const message = `after a restart of teal, ${indexes.length} instance(s) of ${slot.version} on ${color} were gone; started replacements`;
  deployer.log.warn({ service: unit.name, color, indexes }, message);
  if (seq !== null) await deployer.journal.append(unit.name, seq, "recovery", message);
}
