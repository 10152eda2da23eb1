/**
 * What crosses to a proxy worker when the spec changes: only the services whose spec is a new
 * object, plus the order of names when services came or went. With 1,000 services a switch sends
 * one service, not the world (a whole spec is sent to a worker once, when it starts).
 */

import type { DataPlaneSpec, ServiceSpec } from "../traffic/spec.ts";

export interface SpecChange {
  /** The generation the change applies to; a worker at another one asks for the whole spec. */
  readonly base: number;
  readonly generation: number;
  /** Services added or changed. */
  readonly changed: readonly ServiceSpec[];
  /** Every service's name in order; only when the set of services changed. */
  readonly names?: readonly string[];
}

export function diffSpecs(from: DataPlaneSpec, to: DataPlaneSpec): SpecChange {
  const before = new Map(from.services.map((s) => [s.name, s]));
  const changed = to.services.filter((s) => before.get(s.name) !== s);
  const sameNames =
    from.services.length === to.services.length &&
    to.services.every((s, i) => from.services[i]!.name === s.name);
  return {
    base: from.generation,
    generation: to.generation,
    changed,
    ...(sameNames ? {} : { names: to.services.map((s) => s.name) }),
  };
}

/** The spec `change` leads to from `from`; unchanged services keep their objects. */
export function patchSpec(from: DataPlaneSpec, change: SpecChange): DataPlaneSpec {
  const byName = new Map(from.services.map((s) => [s.name, s]));
  for (const s of change.changed) byName.set(s.name, s);
  const names = change.names ?? from.services.map((s) => s.name);
  return { generation: change.generation, services: names.map((n) => byName.get(n)!) };
}
