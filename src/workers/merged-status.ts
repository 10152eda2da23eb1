/**
 * The control process's view of its proxy workers' runtime status, kept from what each worker
 * sends: after its first read, only the services whose view changed since the last one (see
 * status-log.ts). A service is merged again only when a worker's view of it changed or a worker
 * went, so an idle read of 1,000 services merges nothing, and an unchanged service's merged view
 * is the same object as in the previous read (readers find what changed by identity).
 */

import type { ServiceRuntimeStatus } from "../traffic/status.ts";
import { mergeStatus } from "./merge-status.ts";
import type { StatusDelta } from "./status-log.ts";

interface Part {
  cursor: number;
  names: readonly string[];
  readonly byService: Map<string, ServiceRuntimeStatus>;
}

export class MergedStatus<Key> {
  readonly #parts = new Map<Key, Part>();
  readonly #merged = new Map<string, ServiceRuntimeStatus>();
  /** Services to merge again before the next list. */
  readonly #dirty = new Set<string>();
  /** Every service, in order; undefined when a worker's set of services changed. */
  #order: readonly string[] | undefined = [];
  #received = 0;

  /** The cursor to send to this worker: undefined for a worker not heard from (it sends everything). */
  cursorOf(key: Key): number | undefined {
    return this.#parts.get(key)?.cursor;
  }

  /** Service views received from workers so far (a cost figure: an idle read adds none). */
  get received(): number {
    return this.#received;
  }

  add(key: Key, delta: StatusDelta): void {
    let part = this.#parts.get(key);
    if (part !== undefined && delta.cursor <= part.cursor) return; // older than what we hold
    if (part === undefined) {
      part = { cursor: delta.cursor, names: delta.names ?? [], byService: new Map() };
      this.#parts.set(key, part);
      this.#order = undefined;
    }
    part.cursor = delta.cursor;
    if (delta.names !== undefined) {
      part.names = delta.names;
      this.#order = undefined;
      const present = new Set(delta.names);
      for (const service of part.byService.keys()) {
        if (present.has(service)) continue;
        part.byService.delete(service);
        this.#dirty.add(service);
      }
    }
    for (const s of delta.changed) {
      part.byService.set(s.service, s);
      this.#dirty.add(s.service);
    }
    this.#received += delta.changed.length;
  }

  /** A worker is gone: its counters leave the sums (as they did when each read asked everyone). */
  drop(key: Key): void {
    const part = this.#parts.get(key);
    if (part === undefined) return;
    this.#parts.delete(key);
    for (const service of part.byService.keys()) this.#dirty.add(service);
    this.#order = undefined;
  }

  list(): ServiceRuntimeStatus[] {
    for (const service of this.#dirty) {
      const views: ServiceRuntimeStatus[][] = [];
      for (const part of this.#parts.values()) {
        const s = part.byService.get(service);
        if (s !== undefined) views.push([s]);
      }
      if (views.length === 0) this.#merged.delete(service);
      else this.#merged.set(service, mergeStatus(views)[0]!);
    }
    this.#dirty.clear();
    this.#order ??= this.#union();
    const list: ServiceRuntimeStatus[] = [];
    for (const service of this.#order) {
      const s = this.#merged.get(service);
      if (s !== undefined) list.push(s);
    }
    return list;
  }

  /** Every worker's services in order (workers at the same spec list the same ones). */
  #union(): readonly string[] {
    const seen = new Set<string>();
    for (const part of this.#parts.values()) for (const name of part.names) seen.add(name);
    return [...seen];
  }
}
