/** Routing state per service in the store, one record each, written with compare-and-swap. */

import { TealError } from "../domain/errors.ts";
import { INITIAL_ROUTING, isRoutingState, type RoutingState } from "../domain/routing.ts";
import type { Store } from "../store/store.ts";

const PREFIX = "routing/";

export interface StoredRouting {
  readonly state: RoutingState;
  /** The record's modRevision (0 if never written), for compare-and-swap. */
  readonly revision: number;
}

export class RoutingRepository {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The stored state, or the initial one; a corrupt record is reported, never served. */
  async load(service: string): Promise<StoredRouting & { corrupt?: string }> {
    const kv = await this.#store.get(PREFIX + service);
    if (!kv) return { state: INITIAL_ROUTING, revision: 0 };
    try {
      const parsed: unknown = JSON.parse(kv.value);
      if (isRoutingState(parsed)) return { state: parsed, revision: kv.modRevision };
    } catch {}
    return { state: INITIAL_ROUTING, revision: kv.modRevision, corrupt: kv.value.slice(0, 200) };
  }

  /** Writes only if nobody changed the record since `revision`; returns the new revision. */
  async save(service: string, state: RoutingState, revision: number): Promise<number> {
    const result = await this.#store.put(PREFIX + service, JSON.stringify(state), {
      expectModRevision: revision,
    });
    if (!result.ok) {
      throw new TealError("CONFLICT", `routing of ${service} was changed concurrently; retry the command`);
    }
    return result.revision;
  }
}
