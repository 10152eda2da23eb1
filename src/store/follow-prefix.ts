/**
 * Keeps a caller in step with every key under a prefix, also when the store has compacted the
 * history it would resume from: the caller gets the whole prefix as read at one revision, then
 * every change after that revision. This is how a node catches up after a long absence.
 */

import { isTealError } from "../domain/errors.ts";
import type { KeyValue, Store, Watch, WatchEvent } from "./store.ts";

export interface PrefixFollower {
  /** The whole prefix, read at `revision`; what the caller held before is stale. */
  reload(items: readonly KeyValue[], revision: number): void;
  /** One change after the last reload's revision (or after `afterRevision`), in revision order. */
  onEvent(event: WatchEvent): void;
}

/** A compaction can land between the read and the watch; a few more reads settle it. */
const MAX_RELOADS = 3;

/**
 * Watches `prefix` from `afterRevision` when the store still holds that history; otherwise (or
 * without `afterRevision`) reloads the prefix and watches from the revision of that read.
 */
export async function followPrefix(
  store: Store,
  prefix: string,
  follower: PrefixFollower,
  afterRevision?: number,
): Promise<Watch> {
  if (afterRevision !== undefined) {
    try {
      return await store.watch(prefix, follower.onEvent, { afterRevision });
    } catch (err) {
      if (!isTealError(err, "STORE_COMPACTED")) throw err;
    }
  }
  for (let attempt = 1; ; attempt++) {
    const { items, revision } = await store.list(prefix);
    follower.reload(items, revision);
    try {
      return await store.watch(prefix, follower.onEvent, { afterRevision: revision });
    } catch (err) {
      if (!isTealError(err, "STORE_COMPACTED") || attempt >= MAX_RELOADS) throw err;
    }
  }
}
