/**
 * A Store that hands every call to another one: the base of wrappers that change a few calls
 * (the leader's fence on its writes, a test's revision offset) and pass the rest through, so a
 * method added to the port is passed through by every wrapper without a hand-written copy.
 */

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
} from "./store.ts";

export class DelegatingStore implements Store {
  /** The wrapped store; subclasses call it from the methods they override. */
  protected readonly inner: Store;

  constructor(inner: Store) {
    this.inner = inner;
  }

  revision(): Promise<number> {
    return this.inner.revision();
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.inner.get(key);
  }

  list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }> {
    return this.inner.list(prefix);
  }

  put(key: string, value: string, options?: PutOptions): Promise<WriteResult> {
    return this.inner.put(key, value, options);
  }

  putMany(
    entries: readonly PutManyEntry[],
    options?: { readonly requireKey?: KeyGuard },
  ): Promise<WriteManyResult> {
    return this.inner.putMany(entries, options);
  }

  delete(key: string, options?: DeleteOptions): Promise<WriteResult> {
    return this.inner.delete(key, options);
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void, options?: WatchOptions): Promise<Watch> {
    return this.inner.watch(prefix, onEvent, options);
  }

  grantLease(ttlMs: number): Promise<LeaseId> {
    return this.inner.grantLease(ttlMs);
  }

  keepAlive(lease: LeaseId): Promise<void> {
    return this.inner.keepAlive(lease);
  }

  revokeLease(lease: LeaseId): Promise<void> {
    return this.inner.revokeLease(lease);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
