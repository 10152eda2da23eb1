/**
 * The state store port. Shaped like etcd's KV API so that the SQLite adapter (one node) and a
 * later etcd adapter (many nodes) are interchangeable: every write bumps one global revision,
 * every key carries the revision of its last change, writes can be compare-and-swap, a watch
 * replays history from a revision and then streams live changes, and keys can hang off leases.
 */

/** A lease id; keys attached to a lease vanish when it expires or is revoked. */
export type LeaseId = string & { readonly __brand: "LeaseId" };

export interface KeyValue {
  readonly key: string;
  /** The value as text; typed records above the store encode JSON here. */
  readonly value: string;
  /** Store revision at which the key was created (since its last deletion). */
  readonly createRevision: number;
  /** Store revision of the key's last change; the handle for compare-and-swap. */
  readonly modRevision: number;
  /** Number of writes since creation, starting at 1. */
  readonly version: number;
  readonly lease: LeaseId | undefined;
}

export interface PutOptions {
  /**
   * Compare-and-swap: the write happens only if the key's current modRevision equals this.
   * 0 means "the key must not exist". Omitted means unconditional.
   */
  readonly expectModRevision?: number;
  readonly lease?: LeaseId;
  /**
   * A guard on another key, checked in the same transaction as the write: the write happens only
   * if `key`'s modRevision equals `modRevision` (0: `key` must not exist). A fleet's leader
   * fences its writes with its own leader key this way, so that a leader deposed while it was
   * paused or cut off cannot write after another node leads.
   */
  readonly requireKey?: KeyGuard;
}

/** The options of a delete: the same compare and guard as a put's. */
export interface DeleteOptions {
  /** Compare-and-swap: the delete happens only if the key's modRevision equals this. */
  readonly expectModRevision?: number;
  /** A guard on another key in the same transaction, as for `put` (the leader's fence). */
  readonly requireKey?: KeyGuard;
}

/** A key and the modRevision it must have for a guarded write to happen. */
export interface KeyGuard {
  readonly key: string;
  readonly modRevision: number;
}

/** Outcome of a conditional write: a failed compare is an expected value, not an exception. */
export type WriteResult =
  | { readonly ok: true; readonly revision: number; readonly kv: KeyValue | undefined }
  | {
      readonly ok: false;
      readonly revision: number;
      /** The written key as it is (not the guard's). */
      readonly current: KeyValue | undefined;
      /** Present (true) when the `requireKey` guard failed, whatever the write's own compare. */
      readonly guardFailed?: true;
    };

/** One key of a `putMany`: the same options as a single put, but the guard is the batch's. */
export interface PutManyEntry {
  readonly key: string;
  readonly value: string;
  /** Compare-and-swap on this key, as for `put` (0: it must not exist). */
  readonly expectModRevision?: number;
  readonly lease?: LeaseId;
}

/**
 * Most keys one `putMany` writes. etcd refuses a transaction of more than `--max-txn-ops`
 * operations (default 128) in any of its branches; 100 leaves room for a guard and the reads of a
 * failed compare. Callers with more keys split them into several batches (each atomic on its own).
 */
export const MAX_PUT_MANY = 100;

/** Outcome of a `putMany`: all of it happened at one revision, or none of it. */
export type WriteManyResult =
  | {
      readonly ok: true;
      /** The one revision every key now has as its modRevision. */
      readonly revision: number;
      /** The written records, in the order of the entries. */
      readonly kvs: KeyValue[];
    }
  | {
      readonly ok: false;
      readonly revision: number;
      /** The keys whose own compare failed (empty when only the guard did), in entry order. */
      readonly conflicts: string[];
      /** Present (true) when the `requireKey` guard failed. */
      readonly guardFailed?: true;
    };

export type WatchEvent =
  | { readonly type: "put"; readonly revision: number; readonly kv: KeyValue }
  | { readonly type: "delete"; readonly revision: number; readonly key: string };

export interface Watch {
  /** Stops delivery; no event is delivered after the returned promise resolves. */
  cancel(): Promise<void>;
}

export interface WatchOptions {
  /**
   * Deliver every change with revision > this first (from history), then live changes.
   * Omitted: live changes only. Throws STORE_COMPACTED if that history is gone.
   */
  readonly afterRevision?: number;
  /**
   * Called once if the store ends the watch by itself, with STORE_COMPACTED: etcd compacted the
   * history the watch was resuming from while it reconnected (a node cut off for a while). No
   * event follows; the caller reloads and watches again (followPrefix does). Omitted: the store's
   * own error report gets it. The in-process stores (SQLite, memory) never end a watch.
   */
  readonly onLost?: (err: Error) => void;
}

export interface Store {
  /** The store's current revision (0 for an empty, never-written store). */
  revision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys starting with prefix, sorted by key, read at one revision. */
  list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }>;
  put(key: string, value: string, options?: PutOptions): Promise<WriteResult>;
  /**
   * Writes several keys in one transaction: every entry's compare (and the guard, if given) holds
   * and all are written at one new revision, or nothing is written. Watchers see one put event
   * per key, all at that revision, in key order. At most MAX_PUT_MANY entries, each key once
   * (INVALID_REQUEST otherwise); an expired lease is LEASE_NOT_FOUND and writes nothing. No
   * entries: nothing happens, and the result carries the current revision.
   */
  putMany(
    entries: readonly PutManyEntry[],
    options?: { readonly requireKey?: KeyGuard },
  ): Promise<WriteManyResult>;
  /**
   * Deletes a key, under the same compare and guard as `put` (a refused guard: guardFailed). A
   * missing key is a success that changes nothing (no new revision).
   */
  delete(key: string, options?: DeleteOptions): Promise<WriteResult>;
  /** Events for keys starting with prefix, in revision order, each delivered once per watch. */
  watch(prefix: string, onEvent: (event: WatchEvent) => void, options?: WatchOptions): Promise<Watch>;
  /** Grants a lease that expires ttlMs after its last keep-alive. */
  grantLease(ttlMs: number): Promise<LeaseId>;
  /** Throws LEASE_NOT_FOUND if the lease has expired or was revoked. */
  keepAlive(lease: LeaseId): Promise<void>;
  /** Revokes the lease and deletes every key attached to it. */
  revokeLease(lease: LeaseId): Promise<void>;
  /** Graceful: cancels watches, flushes, releases files or connections. */
  close(): Promise<void>;
}
