/**
 * Step 1 of a start, before the proxy gets its first spec: loads what each color of each service
 * runs, re-adopts the instances a previous teal process left running, and removes the ones no
 * record knows. What could not be adopted goes to recovery.ts, which settles it once traffic
 * control runs.
 */

import type { TealConfig } from "../config/schema.ts";
import type { Clock } from "../domain/clock.ts";
import { COLORS, type Color } from "../domain/color.ts";
import type { HealthMonitor } from "../health/health-monitor.ts";
import { type Runtime, runtimeId } from "../runtime/runtime.ts";
import { groupEvents } from "./group-events.ts";
import type { DeployContext } from "./lifecycle.ts";
import { ServiceUnit } from "./service-unit.ts";
import type { ServiceUnits } from "./service-units.ts";
import type { SlotRepository } from "./slot-repository.ts";

/** What adoption leaves for recovery. */
export interface Adoption {
  /** Per service and color: the indexes of recorded instances that were gone. */
  readonly lost: ReadonlyMap<string, ReadonlyMap<Color, readonly number[]>>;
  /** False when this color's instances could not be re-adopted (their engine was unreachable). */
  adopted(service: string, color: Color): boolean;
}

export interface AdoptionOptions {
  readonly config: TealConfig;
  readonly configDir: string;
  readonly slots: SlotRepository;
  /** The runtime of each managed service, chosen by the composition root; undefined for static endpoints. */
  readonly runtimeFor: (service: string) => Runtime | undefined;
  /**
   * Swept for orphans at every start even when no service uses it: the process runtime, whose
   * instances outlive a config that no longer runs any process service.
   */
  readonly sweepAlways?: Runtime;
  readonly monitor: HealthMonitor;
  readonly clock: Clock;
}

/** Fills `units` with every configured service and takes over what a previous teal left running. */
export async function adoptServices(
  ctx: DeployContext,
  units: ServiceUnits,
  options: AdoptionOptions,
): Promise<Adoption> {
  const lost = new Map<string, Map<Color, number[]>>();
  /** "service/color" whose instances a start could not re-adopt: recovery leaves their records be. */
  const unadopted = new Set<string>();
  for (const [name, config] of Object.entries(options.config.services)) {
    const { slots, corrupt } = await options.slots.load(name);
    if (corrupt) ctx.log.warn({ service: name }, "slots record unreadable; moved to quarantine/");
    const unit = new ServiceUnit({
      name,
      config,
      configDir: options.configDir,
      slots,
      repository: options.slots,
      runtime: options.runtimeFor(name),
      monitor: options.monitor,
      clock: options.clock,
      events: (color) => groupEvents(ctx, name, () => units.get(name), color),
    });
    units.add(unit);
    if (!unit.managed) continue;
    const perColor = new Map<Color, number[]>();
    for (const color of COLORS) {
      const slot = unit.slot(color);
      if (slot.state === "stopped" || slot.instances.length === 0) continue;
      try {
        const gone = await unit.groups[color].adopt(unit.planOfSlot(color), slot.instances);
        perColor.set(
          color,
          gone.map((r) => r.index),
        );
      } catch (err) {
        // An engine that is down must not keep the other services from starting. The records
        // stay as they are: the next start adopts the containers, which may well still run.
        unadopted.add(`${name}/${color}`);
        ctx.log.error(
          { err, service: name, color },
          `could not re-adopt ${name}'s ${color} instances (${(err as Error).message}); they are not served until teal is restarted with the engine reachable`,
        );
      }
    }
    lost.set(name, perColor);
  }
  await removeOrphans(ctx, units, options.sweepAlways);
  return { lost, adopted: (service, color) => !unadopted.has(`${service}/${color}`) };
}

/**
 * Instances nobody recorded (teal crashed between starting one and saving it) would run forever:
 * each runtime removes the ones no record of any service knows. Once per runtime, since the
 * process runtime sweeps every service's instances at once.
 */
async function removeOrphans(ctx: DeployContext, units: ServiceUnits, always?: Runtime): Promise<void> {
  const known = new Set(
    units
      .all()
      .flatMap((u) => [...u.groups.blue.records(), ...u.groups.green.records()])
      .map(runtimeId),
  );
  const swept = new Set<Runtime>();
  const sweep = async (runtime: Runtime, service: string, containers: boolean) => {
    swept.add(runtime);
    try {
      for (const name of await runtime.removeOrphans(service, known)) {
        if (containers) {
          ctx.log.warn(
            { service, container: name },
            "removed a container no record knew of (left by a crash of teal or a failed deployment)",
          );
        } else {
          ctx.log.warn({ instance: name }, "killed an instance no record knew of (left by a crash of teal)");
        }
      }
    } catch (err) {
      const what = containers ? "containers" : "instances";
      ctx.log.error({ err, service }, `could not look for orphaned ${what}`);
    }
  };
  for (const unit of units.all()) {
    const runtime = unit.runtime;
    if (runtime && !swept.has(runtime))
      await sweep(runtime, unit.name, unit.config.runtime.type === "docker");
  }
  if (always && !swept.has(always)) await sweep(always, "", false);
}
