/**
 * Keeps a caller in step with every key under a prefix, also when the store has compacted the
 * history it would resume from: the caller gets the whole prefix as read at one revision, then
 * every change after that revision. This is how a node catches up after a long absence, both
 * when it starts from an old revision and when etcd compacts the history a live watch was
 * resuming from while the node was cut off (the store then ends the watch: it reloads here).
 */

import { type Clock, systemClock, type Timer } from "../domain/clock.ts";
import { isTealError } from "../domain/errors.ts";
import type { KeyValue, Store, Watch, WatchEvent } from "./store.ts";

export interface PrefixFollower {
  /** The whole prefix, read at `revision`; what the caller held before is stale. */
  reload(items: readonly KeyValue[], revision: number): void;
  /** One change after the last reload's revision (or after `afterRevision`), in revision order. */
  onEvent(event: WatchEvent): void;
}

export interface FollowOptions {
  /** Told when a lost watch was reloaded, and each time such a reload failed (it is tried again). */
  readonly onWarning?: (message: string, err?: unknown) => void;
  /** Times the retries of a failed reload (default: the system clock). */
  readonly clock?: Clock;
}

/** A compaction can land between the read and the watch; a few more reads settle it. */
const MAX_RELOADS = 3;
/** A reload after a lost watch that fails (etcd unreachable again) is tried again, doubling up to the cap. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * Watches `prefix` from `afterRevision` when the store still holds that history; otherwise (or
 * without `afterRevision`) reloads the prefix and watches from the revision of that read. If the
 * store later ends the watch (compacted while reconnecting), the prefix is reloaded and watched
 * again, for as long as the returned watch is not cancelled.
 */
export async function followPrefix(
  store: Store,
  prefix: string,
  follower: PrefixFollower,
  afterRevision?: number,
  options: FollowOptions = {},
): Promise<Watch> {
  const followed = new FollowedPrefix(store, prefix, follower, options);
  await followed.start(afterRevision);
  return followed;
}

class FollowedPrefix implements Watch {
  readonly #store: Store;
  readonly #prefix: string;
  readonly #follower: PrefixFollower;
  readonly #options: FollowOptions;
  #current: Watch | undefined;
  #retry: Timer | undefined;
  #cancelled = false;

  constructor(store: Store, prefix: string, follower: PrefixFollower, options: FollowOptions) {
    this.#store = store;
    this.#prefix = prefix;
    this.#follower = follower;
    this.#options = options;
  }

  async start(afterRevision: number | undefined): Promise<void> {
    if (afterRevision !== undefined) {
      try {
        this.#current = await this.#watch(afterRevision);
        return;
      } catch (err) {
        if (!isTealError(err, "STORE_COMPACTED")) throw err;
      }
    }
    this.#current = await this.#reloadAndWatch();
  }

  async cancel(): Promise<void> {
    this.#cancelled = true;
    this.#retry?.cancel();
    await this.#current?.cancel();
  }

  #watch(afterRevision: number): Promise<Watch> {
    return this.#store.watch(this.#prefix, this.#onEvent, { afterRevision, onLost: this.#onLost });
  }

  async #reloadAndWatch(): Promise<Watch> {
    for (let attempt = 1; ; attempt++) {
      const { items, revision } = await this.#store.list(this.#prefix);
      if (!this.#cancelled) this.#follower.reload(items, revision);
      try {
        return await this.#watch(revision);
      } catch (err) {
        if (!isTealError(err, "STORE_COMPACTED") || attempt >= MAX_RELOADS) throw err;
      }
    }
  }

  readonly #onEvent = (event: WatchEvent): void => {
    // A watch started by a reload that raced cancel() is cancelled at once; nothing reaches the caller.
    if (!this.#cancelled) this.#follower.onEvent(event);
  };

  readonly #onLost = (err: Error): void => {
    this.#current = undefined;
    if (this.#cancelled) return;
    this.#options.onWarning?.(`the store ended the watch on ${this.#prefix}: reloading it`, err);
    void this.#recover(RETRY_FIRST_MS);
  };

  async #recover(nextDelayMs: number): Promise<void> {
    try {
      const watch = await this.#reloadAndWatch();
      if (this.#cancelled) await watch.cancel();
      else this.#current = watch;
    } catch (err) {
      if (this.#cancelled) return;
      this.#options.onWarning?.(
        `could not reload ${this.#prefix} after its watch ended; trying again in ${nextDelayMs} ms`,
        err,
      );
      const clock = this.#options.clock ?? systemClock;
      this.#retry = clock.setTimeout(
        () => void this.#recover(Math.min(nextDelayMs * 2, RETRY_MAX_MS)),
        nextDelayMs,
      );
    }
  }
}
