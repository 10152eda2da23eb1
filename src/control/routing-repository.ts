/**
 * Routing state per service in the store, one record each, written with compare-and-swap. After
 * each write the live color and its version are also published at `services/<name>/active`
 * (JSON `{"color":"green","version":"v2"}`), the layout other tools read from etcd.
 */

import type { Color } from "../domain/color.ts";
import { TealError } from "../domain/errors.ts";
import { INITIAL_ROUTING, isRoutingState, type RoutingState } from "../domain/routing.ts";
import type { Store } from "../store/store.ts";

const PREFIX = "routing/";

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
export const activeKey = (service: string): string => `services/${service}/active`;

export class RoutingRepository {
  readonly #store: Store;
  readonly #options: RoutingRepositoryOptions;

  constructor(store: Store, options: RoutingRepositoryOptions = {}) {
    this.#store = store;
    this.#options = options;
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
    await this.publishActive(service, state.live);
    return result.revision;
  }

  /**
   * Publishes the live color and its version at `services/<service>/active`. Called after every
   * routing write (the Store has no multi-key transaction, and the routing record is what teal
   * itself reads), and by the server at start and when a deployment ends (a first version goes
   * live without a switch). Unchanged values are not rewritten, so a watcher of the key sees one
   * event per change of color or version, not one per split step.
   */
  async publishActive(service: string, live: Color): Promise<void> {
    const value = JSON.stringify({ color: live, version: this.#options.versionOf?.(service, live) ?? null });
    try {
      if ((await this.#store.get(activeKey(service)))?.value === value) return;
      await this.#store.put(activeKey(service), value);
    } catch (err) {
      if (!this.#options.onPublishError) throw err;
      this.#options.onPublishError(err);
    }
  }
}
