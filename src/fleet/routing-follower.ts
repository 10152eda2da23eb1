/**
 * Keeps a node's proxy on the shared routing: every `routing/<service>` record, loaded at one
 * revision and then followed by the watch. Each record is a service's whole state at one
 * revision, and it is applied whole, one after another in revision order: the proxy never
 * serves half of a change. After each apply the node reports the revision it now serves.
 */

import type { TealConfig } from "../config/schema.ts";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import { SpecBuilder } from "../control/spec-builder.ts";
import { INITIAL_ROUTING, isRoutingState, type RoutingState } from "../domain/routing.ts";
import type { PrefixFollower } from "../store/follow-prefix.ts";
import type { KeyValue, WatchEvent } from "../store/store.ts";

/** Where RoutingRepository keeps one record per service. */
export const ROUTING_PREFIX = "routing/";

export interface RoutingFollowerOptions {
  readonly config: TealConfig;
  readonly dataPlane: DataPlanePort;
  /** The proxy now routes by everything up to `revision`. */
  readonly onServed: (revision: number) => void;
  readonly onWarning: (message: string) => void;
}

export class RoutingFollower implements PrefixFollower {
  readonly #options: RoutingFollowerOptions;
  readonly #specs: SpecBuilder;
  readonly #routing = new Map<string, RoutingState>();
  #generation = 0;
  #revision = 0;
  /** Applies run one at a time, in the order the store delivered them. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: RoutingFollowerOptions) {
    this.#options = options;
    this.#specs = new SpecBuilder(options.config);
    for (const name of Object.keys(options.config.services)) this.#routing.set(name, INITIAL_ROUTING);
  }

  /** The revision the proxy serves (0 before the first load). */
  get revision(): number {
    return this.#revision;
  }

  routing(service: string): RoutingState | undefined {
    return this.#routing.get(service);
  }

  /** Resolves once everything delivered so far is in force. */
  settled(): Promise<void> {
    return this.#queue;
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[], revision: number): void => {
    const loaded = new Map<string, RoutingState>();
    for (const kv of items) {
      const state = this.#parse(kv);
      if (state !== undefined) loaded.set(kv.key.slice(ROUTING_PREFIX.length), state);
    }
    for (const name of this.#routing.keys()) this.#routing.set(name, loaded.get(name) ?? INITIAL_ROUTING);
    this.#enqueue(revision, () => this.#specs.all(this.#routing, ++this.#generation));
  };

  readonly onEvent = (event: WatchEvent): void => {
    const key = event.type === "put" ? event.kv.key : event.key;
    const service = key.slice(ROUTING_PREFIX.length);
    if (!this.#routing.has(service)) {
      // Not in this node's config (yet): nothing to route, but the revision is served.
      this.#enqueue(event.revision, undefined);
      return;
    }
    const state = event.type === "put" ? this.#parse(event.kv) : INITIAL_ROUTING;
    if (state === undefined) {
      this.#enqueue(event.revision, undefined);
      return;
    }
    this.#routing.set(service, state);
    this.#enqueue(event.revision, () => this.#specs.one(service, this.#routing, ++this.#generation));
  };

  #enqueue(revision: number, spec: (() => ReturnType<SpecBuilder["all"]>) | undefined): void {
    // The spec is built now, from the state as of this event, so a later event cannot leak in.
    const built = spec?.();
    this.#queue = this.#queue
      .then(async () => {
        if (built !== undefined) await this.#options.dataPlane.apply(built);
        this.#revision = Math.max(this.#revision, revision);
        this.#options.onServed(this.#revision);
      })
      .catch((err: Error) => {
        this.#options.onWarning(`could not apply the routing at revision ${revision}: ${err.message}`);
      });
  }

  #parse(kv: KeyValue): RoutingState | undefined {
    return parseRoutingRecord(kv, this.#options.onWarning);
  }
}

/** A routing record read from the store, or undefined (with a warning) when it cannot be read. */
export function parseRoutingRecord(
  kv: KeyValue,
  onWarning: (message: string) => void,
): RoutingState | undefined {
  try {
    const parsed: unknown = JSON.parse(kv.value);
    if (isRoutingState(parsed)) return parsed;
  } catch {}
  onWarning(`routing record ${kv.key} at revision ${kv.modRevision} is unreadable; keeping what is served`);
  return undefined;
}
