/**
 * The contract's view of an etcd store on a cluster shared by every case. etcd's revision is
 * global to the cluster, so a fresh prefix starts at whatever revision earlier cases reached; the
 * contract's literal revisions (1 for a case's first write) are relative to its start. This
 * wrapper shifts every revision in and out by the revision the case started at and does nothing
 * else: consecutive revisions, compare-and-swap and replay are still etcd's.
 *
 * It also stands in for the history limit the contract asks for (etcd compacts on demand, not by
 * a count): after each write it compacts everything older than the last `historyLimit` revisions.
 */

import { DelegatingStore } from "../../src/store/delegating-store.ts";
import type {
  DeleteOptions,
  KeyGuard,
  KeyValue,
  LeaseId,
  PutManyEntry,
  PutOptions,
  Store,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteManyResult,
  WriteResult,
} from "../../src/store/store.ts";

export class RevisionOffsetStore extends DelegatingStore {
  readonly #base: number;
  readonly #historyLimit: number;
  readonly #compact: (revision: number) => Promise<void>;
  /** Every lease granted, so cleanup can revoke them before the next case measures its base. */
  readonly leases = new Set<LeaseId>();

  constructor(
    inner: Store,
    base: number,
    historyLimit: number,
    compact: (revision: number) => Promise<void>,
    leases?: Set<LeaseId>,
  ) {
    super(inner);
    this.#base = base;
    this.#historyLimit = historyLimit;
    this.#compact = compact;
    if (leases) this.leases = leases;
  }

  override async revision(): Promise<number> {
    return (await this.inner.revision()) - this.#base;
  }

  override async get(key: string): Promise<KeyValue | undefined> {
    return this.#kv(await this.inner.get(key));
  }

  override async list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }> {
    const { items, revision } = await this.inner.list(prefix);
    return { items: items.map((kv) => this.#kv(kv) as KeyValue), revision: revision - this.#base };
  }

  override async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    const expectModRevision = this.#expected(options.expectModRevision);
    const guard = options.requireKey;
    const result = await this.inner.put(key, value, {
      ...options,
      ...(expectModRevision === undefined ? {} : { expectModRevision }),
      ...(guard === undefined
        ? {}
        : { requireKey: { key: guard.key, modRevision: this.#expected(guard.modRevision) as number } }),
    });
    return this.#afterWrite(result);
  }

  override async putMany(
    entries: readonly PutManyEntry[],
    options: { readonly requireKey?: KeyGuard } = {},
  ): Promise<WriteManyResult> {
    const guard = options.requireKey;
    const result = await this.inner.putMany(
      entries.map((e) => {
        const expectModRevision = this.#expected(e.expectModRevision);
        return expectModRevision === undefined ? e : { ...e, expectModRevision };
      }),
      guard === undefined
        ? {}
        : { requireKey: { key: guard.key, modRevision: this.#expected(guard.modRevision) as number } },
    );
    await this.#compactAfter(result);
    return result.ok
      ? {
          ok: true,
          revision: result.revision - this.#base,
          kvs: result.kvs.map((kv) => this.#kv(kv) as KeyValue),
        }
      : { ...result, revision: result.revision - this.#base };
  }

  override async delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    const expectModRevision = this.#expected(options.expectModRevision);
    const guard = options.requireKey;
    return this.#afterWrite(
      await this.inner.delete(key, {
        ...(expectModRevision === undefined ? {} : { expectModRevision }),
        ...(guard === undefined
          ? {}
          : { requireKey: { key: guard.key, modRevision: this.#expected(guard.modRevision) as number } }),
      }),
    );
  }

  override watch(
    prefix: string,
    onEvent: (event: WatchEvent) => void,
    options: WatchOptions = {},
  ): Promise<Watch> {
    const shifted = (event: WatchEvent): void =>
      onEvent(
        event.type === "put"
          ? { type: "put", revision: event.revision - this.#base, kv: this.#kv(event.kv) as KeyValue }
          : { type: "delete", revision: event.revision - this.#base, key: event.key },
      );
    return this.inner.watch(
      prefix,
      shifted,
      options.afterRevision === undefined ? {} : { afterRevision: options.afterRevision + this.#base },
    );
  }

  override async grantLease(ttlMs: number): Promise<LeaseId> {
    const lease = await this.inner.grantLease(ttlMs);
    this.leases.add(lease);
    return lease;
  }

  /** 0 keeps its meaning, "the key must not exist". */
  #expected(revision: number | undefined): number | undefined {
    return revision === undefined || revision === 0 ? revision : revision + this.#base;
  }

  async #compactAfter(result: { readonly ok: boolean; readonly revision: number }): Promise<void> {
    const oldestKept = result.revision - this.#historyLimit + 1;
    if (result.ok && oldestKept > this.#base + 1) await this.#compact(oldestKept);
  }

  async #afterWrite(result: WriteResult): Promise<WriteResult> {
    await this.#compactAfter(result);
    return result.ok
      ? { ok: true, revision: result.revision - this.#base, kv: this.#kv(result.kv) }
      : {
          ok: false,
          revision: result.revision - this.#base,
          current: this.#kv(result.current),
          ...(result.guardFailed ? { guardFailed: true } : {}),
        };
  }

  #kv(kv: KeyValue | undefined): KeyValue | undefined {
    return kv === undefined
      ? undefined
      : { ...kv, createRevision: kv.createRevision - this.#base, modRevision: kv.modRevision - this.#base };
  }
}
