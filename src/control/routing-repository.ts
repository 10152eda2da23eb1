/**
 * Routing state per service in the store, one record each, written with compare-and-swap. The
 * live color and its version are also published at `services/<name>/active` (JSON
 * `{"color":"green","version":"v2"}`), the layout other tools read from etcd, in the same
 * transaction as the routing record whenever they change.
 */

import type { Color } from "../domain/color.ts";
import { TealError } from "../domain/errors.ts";
import { INITIAL_ROUTING, isRoutingState, type RoutingState } from "../domain/routing.ts";
import type { KeyValue, PutManyEntry, Store } from "../store/store.ts";

const PREFIX = "routing/";
const ACTIVE_PREFIX = "services/";

export interface StoredRouting {
  readonly state: RoutingState;
  /** The record's modRevision (0 if never written), for compare-and-swap. */
  readonly revision: number;
}

export interface RoutingRepositoryOptions {
  /** The version a color runs (null for a static service or an empty color). */
  readonly versionOf?: (service: string, color: Color) => string | null;
  /** The routing was saved but the active key could not be written; the next save writes it. */
  readonly onPublishError?: (err: unknown) => void;
}

/** The key other tools read a service's live color from. */
export const activeKey = (service: string): string => `${ACTIVE_PREFIX}${service}/active`;

/** A service's active key as this server last read or wrote it. */
interface KnownActive {
  readonly value: string | undefined;
  /** The key's modRevision (0: absent), the compare of the next write. */
  readonly modRevision: number;
  /**
   * The routing record's modRevision when the key was known to hold `value`. Every routing save
   * writes the active key with it when it changes, so while the routing record is still at this
   * revision (the save's own compare-and-swap checks it in the same transaction), nobody changed
   * the key through a routing save: a leader elected meanwhile made this server's copy stale,
   * and the changed routing revision says so. Undefined: not known, read it first.
   */
  readonly routingRevision: number | undefined;
}

export class RoutingRepository {
  readonly #store: Store;
  readonly #options: RoutingRepositoryOptions;
  readonly #active = new Map<string, KnownActive>();

  constructor(store: Store, options: RoutingRepositoryOptions = {}) {
    this.#store = store;
    this.#options = options;
  }

  /** The stored state, or the initial one; a corrupt record is reported, never served. */
  async load(service: string): Promise<LoadedRouting> {
    return loaded(await this.#store.get(PREFIX + service));
  }

  /**
   * Every named service's `load`, from one read of the store. At start with 1,000 services, one
   * read instead of 1,000 (each of which also swept leases in its own SQLite transaction).
   */
  async loadAll(services: readonly string[]): Promise<Map<string, LoadedRouting>> {
    const { items } = await this.#store.list(PREFIX);
    const byKey = new Map(items.map((kv) => [kv.key, kv]));
    return new Map(services.map((s) => [s, loaded(byKey.get(PREFIX + s))]));
  }

  /**
   * Writes only if nobody changed the record since `revision`; returns the new revision. The
   * active key goes in the same transaction when its value changes, so a switch is one round
   * trip to the store: the last value this server wrote (or read) stands in for a read, and its
   * modRevision is the compare. Unchanged values are not rewritten, so a watcher of the key sees
   * one event per change of color or version, not one per split step. Only when the key is not
   * known at this routing revision, or another writer changed it, is it read first.
   */
  async save(service: string, state: RoutingState, revision: number): Promise<number> {
    const routing: PutManyEntry = {
      key: PREFIX + service,
      value: JSON.stringify(state),
      expectModRevision: revision,
    };
    const value = this.#activeValue(service, state.live);
    let known = this.#active.get(service);
    if (known?.routingRevision !== revision) known = await this.#readActive(service, revision);
    // Twice at most: a compare on the active key that fails means another writer changed it
    // (a read of it follows); the routing record's own compare failing is a conflict.
    for (let attempt = 0; ; attempt++) {
      if (known.value === value) {
        const result = await this.#store.put(routing.key, routing.value, { expectModRevision: revision });
        if (!result.ok) throw conflict(service);
        this.#active.set(service, { ...known, routingRevision: result.revision });
        return result.revision;
      }
      const active = { key: activeKey(service), value, expectModRevision: known.modRevision };
      const result = await this.#store.putMany([routing, active]);
      if (result.ok) {
        this.#active.set(service, { value, modRevision: result.revision, routingRevision: result.revision });
        return result.revision;
      }
      if (result.conflicts.includes(routing.key) || attempt > 0) throw conflict(service);
      known = await this.#readActive(service, revision);
    }
  }

  /**
   * Publishes the live color and its version at `services/<service>/active` outside a routing
   * write: by the server at start and when a deployment ends (a first version goes live without
   * a switch). Unchanged values are not rewritten.
   */
  async publishActive(service: string, live: Color): Promise<void> {
    const value = this.#activeValue(service, live);
    try {
      const current = await this.#store.get(activeKey(service));
      const known = this.#active.get(service);
      // The routing record did not move: what this server knew of it still holds.
      const routingRevision =
        known?.modRevision === current?.modRevision ? known?.routingRevision : undefined;
      if (current?.value === value) return;
      const result = await this.#store.put(activeKey(service), value);
      if (result.ok) this.#active.set(service, { value, modRevision: result.revision, routingRevision });
    } catch (err) {
      if (!this.#options.onPublishError) throw err;
      this.#options.onPublishError(err);
    }
  }

  /**
   * `publishActive` for every service at start, comparing against one read of the active keys:
   * after a restart nothing changed and nothing is read or written per service (1,000 services
   * made 1,000 reads). Only the keys whose value differs are written.
   */
  async publishAllActive(live: ReadonlyMap<string, Color>): Promise<void> {
    let current: Map<string, string>;
    try {
      const { items } = await this.#store.list(ACTIVE_PREFIX);
      current = new Map(items.map((kv) => [kv.key, kv.value]));
    } catch (err) {
      if (!this.#options.onPublishError) throw err;
      return this.#options.onPublishError(err);
    }
    for (const [service, color] of live) {
      const value = this.#activeValue(service, color);
      if (current.get(activeKey(service)) === value) continue;
      try {
        await this.#store.put(activeKey(service), value);
      } catch (err) {
        if (!this.#options.onPublishError) throw err;
        this.#options.onPublishError(err);
      }
    }
  }

  /** Reads the active key: what it holds while the routing record is at `routingRevision`. */
  async #readActive(service: string, routingRevision: number): Promise<KnownActive> {
    const kv = await this.#store.get(activeKey(service));
    return { value: kv?.value, modRevision: kv?.modRevision ?? 0, routingRevision };
  }

  #activeValue(service: string, live: Color): string {
    return JSON.stringify({ color: live, version: this.#options.versionOf?.(service, live) ?? null });
  }
}

type LoadedRouting = StoredRouting & { corrupt?: string };

const conflict = (service: string): TealError =>
  new TealError("CONFLICT", `routing of ${service} was changed concurrently; retry the command`);

function loaded(kv: KeyValue | undefined): LoadedRouting {
  if (!kv) return { state: INITIAL_ROUTING, revision: 0 };
  try {
    const parsed: unknown = JSON.parse(kv.value);
    if (isRoutingState(parsed)) return { state: parsed, revision: kv.modRevision };
  } catch {}
  return { state: INITIAL_ROUTING, revision: kv.modRevision, corrupt: kv.value.slice(0, 200) };
}
