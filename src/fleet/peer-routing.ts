/**
 * Keeps a `teal server` on the routing other servers on the same prefix write: every change to a
 * `routing/<service>` record goes to the routing controller, which puts it in force in turn with
 * its own commands (it skips its own writes, which come back through the same watch). After
 * each, the node reports the revision it serves, so a write by another server waits for this
 * node's proxy too. `teal proxy` nodes use RoutingFollower instead: they have no controller.
 */

import { INITIAL_ROUTING, type RoutingState } from "../domain/routing.ts";
import type { PrefixFollower } from "../store/follow-prefix.ts";
import type { KeyValue, WatchEvent } from "../store/store.ts";
import { parseRoutingRecord, ROUTING_PREFIX } from "./routing-follower.ts";

/** The controller's side (RoutingController.follow): true when the state was put in force. */
export type FollowRouting = (
  service: string,
  state: RoutingState,
  revision: number,
  modRevision: number,
) => Promise<boolean>;

export interface PeerRoutingOptions {
  readonly follow: FollowRouting;
  /** Everything up to `revision` is in force (or was this server's own). */
  readonly onServed: (revision: number) => void;
  readonly onWarning: (message: string) => void;
}

export class PeerRouting implements PrefixFollower {
  readonly #options: PeerRoutingOptions;
  /** The services whose record this server has seen, so a reload can tell a deleted one. */
  readonly #present = new Set<string>();
  /** One change at a time, in the order the store delivered them: a served revision covers all before it. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: PeerRoutingOptions) {
    this.#options = options;
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[], revision: number): void => {
    const seen = new Set<string>();
    for (const kv of items) {
      const service = kv.key.slice(ROUTING_PREFIX.length);
      seen.add(service);
      const state = this.#parse(kv);
      if (state !== undefined)
        this.#enqueue(() => this.#follow(service, state, kv.modRevision, kv.modRevision));
    }
    for (const service of this.#present) {
      if (!seen.has(service)) this.#enqueue(() => this.#follow(service, INITIAL_ROUTING, revision, 0));
    }
    this.#present.clear();
    for (const service of seen) this.#present.add(service);
    this.#enqueue(async () => this.#options.onServed(revision));
  };

  readonly onEvent = (event: WatchEvent): void => {
    const key = event.type === "put" ? event.kv.key : event.key;
    const service = key.slice(ROUTING_PREFIX.length);
    if (event.type === "delete") {
      this.#present.delete(service);
      this.#enqueue(() => this.#follow(service, INITIAL_ROUTING, event.revision, 0));
    } else {
      this.#present.add(service);
      const state = this.#parse(event.kv);
      if (state !== undefined)
        this.#enqueue(() => this.#follow(service, state, event.revision, event.revision));
    }
    this.#enqueue(async () => this.#options.onServed(event.revision));
  };

  /** Resolves once everything delivered so far is in force. */
  settled(): Promise<unknown> {
    return this.#queue;
  }

  #enqueue(step: () => Promise<unknown>): void {
    this.#queue = this.#queue.then(step);
  }

  #follow(service: string, state: RoutingState, revision: number, modRevision: number): Promise<unknown> {
    return this.#options.follow(service, state, revision, modRevision).catch((err: Error) => {
      this.#options.onWarning(
        `could not apply the routing of ${service} at revision ${revision} written by another server: ${err.message}`,
      );
    });
  }

  #parse(kv: KeyValue): RoutingState | undefined {
    return parseRoutingRecord(kv, this.#options.onWarning);
  }
}
