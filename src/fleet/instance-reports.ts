/**
 * What every node runs, from the watch on `instances/` (each node writes its own on its lease, so
 * a dead node's reports vanish with it). A deployment on the leader waits here until every other
 * agent node reports the new color healthy; a node whose version failed, or that left the fleet
 * meanwhile, fails the wait at once. With a quorum (`fleet.quorum: N`, the leader counted) the
 * wait ends once N - 1 others are healthy and every other one failed or left, and fails only
 * when so many failed or left that N is out of reach. Waiting is on the watches' events: no
 * polling.
 */

import type { FleetConfig } from "../config/schema.ts";
import type { FleetWait, NodeLeftOut } from "../deploy/fleet-instances.ts";
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

export type FleetQuorum = FleetConfig["quorum"];

export class InstanceReports implements PrefixFollower {
  /** node -> "service/color" -> report */
  readonly #reports = new Map<string, Map<string, NodeInstances>>();
  readonly #waiters = new Set<Waiter>();
  readonly #others: () => readonly string[];

  readonly #quorum: () => FleetQuorum;

  /**
   * `others`: the live agent nodes other than this one (from nodes/); `quorum`: fleet.quorum
   * (all, or how many nodes, this one included, must be healthy).
   */
  constructor(others: () => readonly string[], quorum: () => FleetQuorum = () => "all") {
    this.#others = others;
    this.#quorum = quorum;
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

  untilHealthy(service: string, color: Color, seq: number, signal: AbortSignal): Promise<FleetWait> {
    const targets = new Set(this.#others());
    const quorum = this.#quorum();
    return this.#until(signal, () => {
      const live = new Set(this.#others());
      const left: NodeLeftOut[] = [];
      for (const node of targets) {
        if (!live.has(node))
          left.push({
            node,
            reason: `node ${node} left the fleet (its lease expired) before ${color} was healthy there`,
          });
      }
      // A node that joined meanwhile gets its task too, and is waited for.
      for (const node of live) targets.add(node);
      const failed: NodeLeftOut[] = [];
      const healthy: string[] = [];
      for (const node of [...targets].sort()) {
        if (!live.has(node)) continue;
        const r = this.#report(node, service, color);
        if (r?.deployment !== seq) continue;
        if (r.health === "failed")
          failed.push({ node, reason: `node ${node}: ${r.detail ?? `${color} failed`}` });
        else if (r.health === "healthy") healthy.push(node);
      }
      const out = [...left, ...failed];
      if (quorum === "all") {
        if (out.length > 0) throw new Error(out[0]!.reason);
        return healthy.length === targets.size ? { healthy, failed: [], left: [] } : undefined;
      }
      // The leader's own instances count as one of the quorum (its deployment waits for them).
      const needed = quorum - 1;
      if (targets.size - out.length < needed) throw new Error(outOfReach(quorum, targets.size + 1, out));
      return healthy.length >= needed && healthy.length + out.length === targets.size
        ? { healthy, failed, left }
        : undefined;
    });
  }

  atDeadline(service: string, color: Color, seq: number, timeoutMs: number): FleetWait | undefined {
    const quorum = this.#quorum();
    if (quorum === "all") return undefined;
    const healthy: string[] = [];
    const failed: NodeLeftOut[] = [];
    for (const node of [...this.#others()].sort()) {
      const r = this.#report(node, service, color);
      if (r?.deployment === seq && r.health === "healthy") healthy.push(node);
      else {
        const why = r?.deployment !== seq ? "has not started it" : (r.detail ?? r.health);
        failed.push({ node, reason: `node ${node}: ${color} not healthy within ${timeoutMs} ms (${why})` });
      }
    }
    return healthy.length >= quorum - 1 ? { healthy, failed, left: [] } : undefined;
  }

  /**
   * Resolves once each of `nodes` reports `color` of `service` drained (its proxy serves the
   * color it was told instead), or has left the fleet; rejects when `signal` aborts.
   */
  async untilDrained(
    service: string,
    color: Color,
    nodes: readonly string[],
    signal: AbortSignal,
  ): Promise<void> {
    await this.#until(signal, () => {
      const live = new Set(this.#others());
      const waiting = nodes.filter(
        (n) => live.has(n) && this.#report(n, service, color)?.drained === undefined,
      );
      return waiting.length === 0 ? true : undefined;
    });
  }

  /**
   * Resolves with what `check` returns once it returns something, rejects with what it throws or
   * when `signal` aborts; `check` runs now and again on every report and change of the fleet.
   */
  #until<T>(signal: AbortSignal, check: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
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
          let value: T | undefined;
          try {
            value = check();
          } catch (err) {
            done();
            reject(err);
            return;
          }
          if (value === undefined) return;
          done();
          resolve(value);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  /** What `node` reports on `color` of `service`, if anything. */
  report(node: string, service: string, color: Color): NodeInstances | undefined {
    return this.#report(node, service, color);
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

function outOfReach(quorum: number, nodes: number, out: readonly NodeLeftOut[]): string {
  const why = out.map((o) => o.reason).join("; ");
  return quorum > nodes
    ? `fleet.quorum is ${quorum} but the fleet has ${nodes} agent node(s)${why ? `; ${why}` : ""}`
    : `the quorum of ${quorum} node(s) is out of reach: ${why}`;
}
