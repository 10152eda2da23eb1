/**
 * Fencing a deposed leader. A leader paused past its lease TTL (SIGSTOP, a VM freeze) or cut off
 * from etcd wakes up with timers that fire before it hears that another node leads; its
 * compare-and-swap on a record is no defence once it has followed the new leader's writes. So
 * every write of what only the leader writes (routing and deployment records, tasks) goes through
 * this Store, which adds the leader's guard to it: the write happens in the same etcd
 * transaction as a compare on the leader key's modRevision, as this node wrote it. A refused
 * write fails with NOT_LEADER and makes the node step down; the new leader's state stands.
 */

import { TealError } from "../domain/errors.ts";
import type {
  KeyGuard,
  KeyValue,
  LeaseId,
  PutOptions,
  Store,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteResult,
} from "../store/store.ts";

/** The keys only the leader writes: routing records, deployment records, the nodes' tasks. */
export const FENCED_PREFIXES: readonly string[] = ["routing/", "deployments/", "tasks/"];

export interface Fence {
  /** The condition the leader's writes carry; undefined when this node does not lead. */
  guard(): KeyGuard | undefined;
  /** A guarded write was refused: this node no longer leads. */
  stepDown(reason: string): void;
}

/** The Store, with the fence on every put under FENCED_PREFIXES; everything else passes through. */
export class FencedStore implements Store {
  readonly #inner: Store;
  readonly #fence: () => Fence | undefined;

  /** @param fence the election, once this server campaigns (before: fenced writes are refused) */
  constructor(inner: Store, fence: () => Fence | undefined) {
    this.#inner = inner;
    this.#fence = fence;
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    if (!FENCED_PREFIXES.some((prefix) => key.startsWith(prefix)))
      return this.#inner.put(key, value, options);
    const fence = this.#fence();
    const guard = fence?.guard();
    if (fence === undefined || guard === undefined) throw notLeading(key, "another node leads, or none yet");
    const result = await this.#inner.put(key, value, { ...options, requireKey: guard });
    if (!result.ok && result.guardFailed) {
      const reason = `its write of ${key} was refused: the leader key is no longer the one it wrote (another node leads, or its lease expired)`;
      fence.stepDown(reason);
      throw notLeading(key, "another node leads, or its lease expired");
    }
    return result;
  }

  revision(): Promise<number> {
    return this.#inner.revision();
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#inner.get(key);
  }

  list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }> {
    return this.#inner.list(prefix);
  }

  delete(key: string, options?: { readonly expectModRevision?: number }): Promise<WriteResult> {
    return this.#inner.delete(key, options);
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void, options?: WatchOptions): Promise<Watch> {
    return this.#inner.watch(prefix, onEvent, options);
  }

  grantLease(ttlMs: number): Promise<LeaseId> {
    return this.#inner.grantLease(ttlMs);
  }

  keepAlive(lease: LeaseId): Promise<void> {
    return this.#inner.keepAlive(lease);
  }

  revokeLease(lease: LeaseId): Promise<void> {
    return this.#inner.revokeLease(lease);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

function notLeading(key: string, why: string): TealError {
  return new TealError(
    "NOT_LEADER",
    `this server does not lead the fleet (${why}), so its write of ${key} was refused; send commands to the leader (teal status shows it)`,
    { details: { key } },
  );
}
