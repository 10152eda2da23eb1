/**
 * Fencing a deposed leader. A leader paused past its lease TTL (SIGSTOP, a VM freeze) or cut off
 * from etcd wakes up with timers that fire before it hears that another node leads; its
 * compare-and-swap on a record is no defence once it has followed the new leader's writes. So
 * every write of what only the leader writes (routing and deployment records, tasks) goes through
 * this Store, which adds the leader's guard to it: the write (or delete) happens in the same etcd
 * transaction as a compare on the leader key's modRevision, as this node wrote it. A refused
 * write fails with NOT_LEADER and makes the node step down; the new leader's state stands.
 */

import { TealError } from "../domain/errors.ts";
import { DelegatingStore } from "../store/delegating-store.ts";
import type {
  DeleteOptions,
  KeyGuard,
  PutManyEntry,
  PutOptions,
  Store,
  WriteManyResult,
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

/** The Store, with the fence on every write under FENCED_PREFIXES; everything else passes through. */
export class FencedStore extends DelegatingStore {
  readonly #fence: () => Fence | undefined;

  /** @param fence the election, once this server campaigns (before: fenced writes are refused) */
  constructor(inner: Store, fence: () => Fence | undefined) {
    super(inner);
    this.#fence = fence;
  }

  override async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    if (!isFenced(key)) return this.inner.put(key, value, options);
    const fence = this.#guarded(key);
    const result = await this.inner.put(key, value, { ...options, requireKey: fence.guard });
    if (!result.ok && result.guardFailed) throw this.#refused(fence, key);
    return result;
  }

  /** A delete under FENCED_PREFIXES (a task of a node that is now the leader) carries it too. */
  override async delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    if (!isFenced(key)) return this.inner.delete(key, options);
    const fence = this.#guarded(key);
    const result = await this.inner.delete(key, { ...options, requireKey: fence.guard });
    if (!result.ok && result.guardFailed) throw this.#refused(fence, key);
    return result;
  }

  /** A batch with one fenced key carries the guard for all of it (one transaction). */
  override async putMany(
    entries: readonly PutManyEntry[],
    options: { readonly requireKey?: KeyGuard } = {},
  ): Promise<WriteManyResult> {
    const key = entries.find((e) => isFenced(e.key))?.key;
    if (key === undefined) return this.inner.putMany(entries, options);
    const fence = this.#guarded(key);
    const result = await this.inner.putMany(entries, { requireKey: fence.guard });
    if (!result.ok && result.guardFailed) throw this.#refused(fence, key);
    return result;
  }

  #guarded(key: string): { readonly fence: Fence; readonly guard: KeyGuard } {
    const fence = this.#fence();
    const guard = fence?.guard();
    if (fence === undefined || guard === undefined) throw notLeading(key, "another node leads, or none yet");
    return { fence, guard };
  }

  #refused({ fence }: { readonly fence: Fence }, key: string): TealError {
    fence.stepDown(
      `its write of ${key} was refused: the leader key is no longer the one it wrote (another node leads, or its lease expired)`,
    );
    return notLeading(key, "another node leads, or its lease expired");
  }
}

const isFenced = (key: string): boolean => FENCED_PREFIXES.some((prefix) => key.startsWith(prefix));

function notLeading(key: string, why: string): TealError {
  return new TealError(
    "NOT_LEADER",
    `this server does not lead the fleet (${why}), so its write of ${key} was refused; send commands to the leader (teal status shows it)`,
    { details: { key } },
  );
}
