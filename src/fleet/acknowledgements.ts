/**
 * Which routing revision each live node serves, from the watch on `nodes/` (every key there is on
 * a node's lease, so a dead node drops out when its lease expires). A routing write waits here
 * until every live node serves its revision, or until a deadline, which names the nodes that lag.
 * Waiting is on the watch's events: no polling.
 */

import type { Clock, Timer } from "../domain/clock.ts";
import type { PrefixFollower } from "../store/follow-prefix.ts";
import type { KeyValue, WatchEvent } from "../store/store.ts";
import { NODES_PREFIX, type NodeRecord, parseNodeRecord } from "./node-key.ts";

export interface LaggingNode {
  readonly node: string;
  /** The revision the node served when the deadline passed. */
  readonly revision: number;
}

export interface FleetNode extends NodeRecord {
  readonly node: string;
  /** When this server last saw the node write its record (its clock, not the node's). */
  readonly seenAtMs: number;
}

interface Waiter {
  readonly revision: number;
  readonly servedHere: string | undefined;
  readonly resolve: (lagging: readonly LaggingNode[]) => void;
  readonly timer: Timer;
}

export class FleetAcks implements PrefixFollower {
  readonly #clock: Clock;
  readonly #nodes = new Map<string, NodeRecord & { seenAtMs: number }>();
  readonly #waiters = new Set<Waiter>();
  readonly #listeners: Array<() => void> = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Every live node, by name. */
  nodes(): FleetNode[] {
    return [...this.#nodes]
      .map(([node, record]) => ({ node, ...record }))
      .sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  /**
   * Resolves with [] once every live node serves `revision` or later, or at the deadline with the
   * nodes that do not. With no live node at all there is nobody to wait for. `servedHere` names
   * the node whose proxy already serves it (the writer's own, put in force before it asks): its
   * record follows, but the wait does not hang on that etcd round trip.
   */
  waitFor(revision: number, timeoutMs: number, servedHere?: string): Promise<readonly LaggingNode[]> {
    if (this.#lagging(revision, servedHere).length === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        revision,
        servedHere,
        resolve,
        timer: this.#clock.setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(this.#lagging(revision, servedHere));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Told after every change to the live nodes (a node joined, left or published). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Gives up every wait (the server stops): each resolves with the nodes that lag now. */
  close(): void {
    for (const waiter of this.#waiters) {
      waiter.timer.cancel();
      waiter.resolve(this.#lagging(waiter.revision, waiter.servedHere));
    }
    this.#waiters.clear();
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[]): void => {
    this.#nodes.clear();
    for (const kv of items) this.#set(kv);
    this.#check();
  };

  readonly onEvent = (event: WatchEvent): void => {
    if (event.type === "put") this.#set(event.kv);
    else this.#nodes.delete(event.key.slice(NODES_PREFIX.length));
    this.#check();
  };

  #set(kv: KeyValue): void {
    const record = parseNodeRecord(kv.value);
    // An unreadable record is not a node teal can wait for.
    if (record !== undefined) {
      this.#nodes.set(kv.key.slice(NODES_PREFIX.length), { ...record, seenAtMs: this.#clock.now() });
    }
  }

  #lagging(revision: number, servedHere?: string): LaggingNode[] {
    return this.nodes()
      .filter((n) => n.revision < revision && n.node !== servedHere)
      .map((n) => ({ node: n.node, revision: n.revision }));
  }

  #check(): void {
    for (const listener of this.#listeners) listener();
    for (const waiter of this.#waiters) {
      if (this.#lagging(waiter.revision, waiter.servedHere).length > 0) continue;
      waiter.timer.cancel();
      this.#waiters.delete(waiter);
      waiter.resolve([]);
    }
  }
}
