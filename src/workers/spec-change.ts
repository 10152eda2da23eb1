/**
 * What crosses to a proxy worker when the spec changes: only the services whose spec is a new
 * object, plus the order of names when services came or went. With 1,000 services a switch sends
 * one service, not the world (a whole spec is sent to a worker once, when it starts). Both ends
 * work in O(changed) plus a pointer comparison per service while the set of services stays: a
 * map of 1,000 names built per switch cost ~0.3 ms in the control process and as much in each
 * worker, on the path of the switch call.
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
  const head = { base: from.generation, generation: to.generation };
  // The usual case (a command, a refresh): the same services in the same order.
  if (from.services.length === to.services.length) {
    const changed: ServiceSpec[] = [];
    let sameNames = true;
    for (let i = 0; i < to.services.length; i++) {
      const a = from.services[i]!;
      const b = to.services[i]!;
      if (a === b) continue;
      if (a.name !== b.name) {
        sameNames = false;
        break;
      }
      changed.push(b);
    }
    if (sameNames) return { ...head, changed };
  }
  const before = new Map(from.services.map((s) => [s.name, s]));
  return {
    ...head,
    changed: to.services.filter((s) => before.get(s.name) !== s),
    names: to.services.map((s) => s.name),
  };
}

/** Each services list's name -> position, kept for the lists patchSpec makes in the same order. */
const positions = new WeakMap<readonly ServiceSpec[], Map<string, number>>();

function positionsOf(services: readonly ServiceSpec[]): Map<string, number> {
  let index = positions.get(services);
  if (index === undefined) {
    index = new Map(services.map((s, i) => [s.name, i]));
    positions.set(services, index);
  }
  return index;
}

/** The spec `change` leads to from `from`; unchanged services keep their objects. */
export function patchSpec(from: DataPlaneSpec, change: SpecChange): DataPlaneSpec {
  if (change.names === undefined) {
    const index = positionsOf(from.services);
    const services = [...from.services];
    for (const s of change.changed) {
      const i = index.get(s.name);
      if (i === undefined) return patchByName(from, change); // not in our list: rebuild
      services[i] = s;
    }
    positions.set(services, index);
    return { generation: change.generation, services };
  }
  return patchByName(from, change);
}

function patchByName(from: DataPlaneSpec, change: SpecChange): DataPlaneSpec {
  const byName = new Map(from.services.map((s) => [s.name, s]));
  for (const s of change.changed) byName.set(s.name, s);
  const names = change.names ?? from.services.map((s) => s.name);
  return { generation: change.generation, services: names.map((n) => byName.get(n)!) };
}
