/**
 * What every node runs, from the watch on `instances/` (each node writes its own on its lease, so
 * a dead node's reports vanish with it). A deployment on the leader waits here until every other
 * agent node reports the new color healthy; a node whose version failed, or that left the fleet
 * meanwhile, fails the wait at once. Waiting is on the watches' events: no polling.
 */

import type { FleetInstances } from "../deploy/fleet-instances.ts";
import type { Color } from "../domain/color.ts";
import type { PrefixFollower } from "../store/follow-prefix.ts";
import type { KeyValue, WatchEvent } from "../store/store.ts";
import { INSTANCES_PREFIX, type InstanceReport, parseReport, splitAgentKey } from "./agent-records.ts";

export interface NodeInstances extends InstanceReport {
  readonly service: string;
  readonly color: Color;
}

interface Waiter {
  readonly check: () => void;
}

export class InstanceReports implements PrefixFollower, FleetInstances {
  /** node -> "service/color" -> report */
  readonly #reports = new Map<string, Map<string, NodeInstances>>();
  readonly #waiters = new Set<Waiter>();
  readonly #others: () => readonly string[];

  /** `others`: the live agent nodes other than this one (from nodes/). */
  constructor(others: () => readonly string[]) {
    this.#others = others;
  }

  /** What `node` reports, sorted by service and color. */
  of(node: string): NodeInstances[] {
    return [...(this.#reports.get(node)?.values() ?? [])].sort((a, b) =>
      a.service === b.service ? (a.color < b.color ? -1 : 1) : a.service < b.service ? -1 : 1,
    );
  }

  /** The live nodes changed: waits re-check who they wait for. */
  nodesChanged(): void {
    this.#check();
  }

  untilHealthy(service: string, color: Color, seq: number, signal: AbortSignal): Promise<readonly string[]> {
    const targets = new Set(this.#others());
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#waiters.delete(waiter);
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const waiter: Waiter = {
        check: () => {
          const live = new Set(this.#others());
          for (const node of targets) {
            if (!live.has(node)) {
              done();
              reject(
                new Error(
                  `node ${node} left the fleet (its lease expired) before ${color} was healthy there`,
                ),
              );
              return;
            }
          }
          // A node that joined meanwhile gets its task too, and is waited for.
          for (const node of live) targets.add(node);
          for (const node of targets) {
            const r = this.#report(node, service, color);
            if (r?.deployment === seq && r.health === "failed") {
              done();
              reject(new Error(`node ${node}: ${r.detail ?? `${color} failed`}`));
              return;
            }
          }
          if (this.pending(service, color, seq).length === 0) {
            done();
            resolve([...targets].sort());
          }
        },
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  pending(service: string, color: Color, seq: number): readonly string[] {
    return this.#others().flatMap((node) => {
      const r = this.#report(node, service, color);
      if (r?.deployment === seq && r.health === "healthy") return [];
      if (r?.deployment !== seq) return [`node ${node} has not started it yet`];
      return [`node ${node} is ${r.health}${r.detail ? ` (${r.detail})` : ""}`];
    });
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[]): void => {
    this.#reports.clear();
    for (const kv of items) this.#set(kv.key, kv.value);
    this.#check();
  };

  readonly onEvent = (event: WatchEvent): void => {
    if (event.type === "put") this.#set(event.kv.key, event.kv.value);
    else {
      const where = splitAgentKey(event.key, INSTANCES_PREFIX);
      if (where) this.#reports.get(where.node)?.delete(`${where.service}/${where.color}`);
    }
    this.#check();
  };

  #report(node: string, service: string, color: Color): NodeInstances | undefined {
    return this.#reports.get(node)?.get(`${service}/${color}`);
  }

  #set(key: string, value: string): void {
    const where = splitAgentKey(key, INSTANCES_PREFIX);
    const report = parseReport(value);
    if (where === undefined || report === undefined) return;
    let node = this.#reports.get(where.node);
    if (node === undefined) {
      node = new Map();
      this.#reports.set(where.node, node);
    }
    node.set(`${where.service}/${where.color}`, { service: where.service, color: where.color, ...report });
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }
}
