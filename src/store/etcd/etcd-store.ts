/**
 * The Store port on etcd (npm etcd3), for state shared by several teal nodes. Revisions,
 * createRevision, modRevision and version are etcd's own; compare-and-swap is an etcd transaction;
 * leases are etcd leases. Every key lives under one prefix (default "/teal"), so teal can share a
 * cluster with other tools and `etcdctl get --prefix /teal/` shows teal's whole state.
 */

import { setTimeout as delay } from "node:timers/promises";
import { Etcd3, type IKeyValue, type IOptions, type IResponseOp, type ITxnRequest } from "etcd3";
import { isTealError, TealError } from "../../domain/errors.ts";
import { sortedBatch } from "../put-many.ts";
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
} from "../store.ts";
import { isFutureRevisionError, storeError } from "./etcd-errors.ts";
import { DEFAULT_ETCD_PREFIX, isLeaseIdShape, KeySpace } from "./etcd-keys.ts";
import { EtcdWatch } from "./etcd-watch.ts";

export interface EtcdStoreOptions {
  /** Client URLs of the cluster's members, e.g. ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]. */
  readonly endpoints: readonly string[];
  /** Every key is stored under `<prefix>/` (default "/teal"). */
  readonly prefix?: string;
  /** Deadline of one call to etcd, in ms (default 5,000); past it the call fails with STORE_UNAVAILABLE. */
  readonly callTimeoutMs?: number;
  /** Receives errors nobody awaits: a watch without `onLost` that etcd ended by itself (default: a process warning). */
  readonly onError?: (err: unknown) => void;
}

type WatchBackoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

export { DEFAULT_ETCD_PREFIX };

function reportAsWarning(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err), "TealStoreWarning");
}

export class EtcdStore implements Store {
  readonly #client: Etcd3;
  readonly #keys: KeySpace;
  readonly #endpoints: readonly string[];
  readonly #callTimeoutMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #watches = new Set<EtcdWatch>();
  #closed = false;

  /** Connects lazily; use EtcdStore.open to fail fast when the cluster cannot be reached. */
  constructor(options: EtcdStoreOptions) {
    this.#endpoints = options.endpoints;
    this.#keys = new KeySpace(options.prefix ?? DEFAULT_ETCD_PREFIX);
    this.#callTimeoutMs = options.callTimeoutMs ?? 5_000;
    this.#onError = options.onError ?? reportAsWarning;
    this.#client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: this.#callTimeoutMs,
      // Streams (watches, keep-alives) live on; single calls get a deadline so a dead cluster
      // turns into STORE_UNAVAILABLE instead of a hang.
      // The client's default backoff grows to 30 s: a watch would then lag that long behind a
      // cluster that is back. Re-attach within 2 s at most.
      faultHandling: { watchBackoff: cappedBackoff(100, 2_000) },
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + this.#callTimeoutMs },
    });
  }

  /** Opens a store and reads the cluster's revision once: STORE_UNAVAILABLE if etcd does not answer. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(options);
    try {
      await store.revision();
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** The key prefix with its trailing slash, e.g. "/teal/". */
  get root(): string {
    return this.#keys.root;
  }

  revision(): Promise<number> {
    return this.#call("read the revision", async () => {
      const response = await this.#client.kv.range({ key: this.#keys.key(""), count_only: true });
      return Number(response.header.revision);
    });
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#call(`read ${key}`, async () => {
      const response = await this.#client.kv.range({ key: this.#keys.key(key) });
      const kv = response.kvs[0];
      return kv ? this.#keys.record(kv) : undefined;
    });
  }

  list(prefix: string): Promise<{ readonly items: KeyValue[]; readonly revision: number }> {
    return this.#call(`list ${prefix}`, async () => {
      // One range is one read at one revision; etcd returns keys in byte order.
      const response = await this.#client.kv.range(this.#keys.range(prefix));
      return {
        items: response.kvs.map((kv) => this.#keys.record(kv)),
        revision: Number(response.header.revision),
      };
    });
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    return this.#call(`write ${key}`, async () => {
      const lease = options.lease;
      if (lease !== undefined && !isLeaseIdShape(lease)) throw leaseNotFound(lease);
      const etcdKey = this.#keys.key(key);
      const guard = options.requireKey;
      const { succeeded, revision, responses } = await this.#transaction(
        etcdKey,
        options.expectModRevision,
        { request_put: { key: etcdKey, value: Buffer.from(value), lease: lease ?? 0, prev_kv: true } },
        guard && { key: this.#keys.key(guard.key), modRevision: guard.modRevision },
      );
      if (!succeeded) return this.#refused(responses, revision, guard);
      // etcd answers a put with the previous record; the new one follows from it.
      const previous: IKeyValue | undefined = responses[0]?.response_put.prev_kv ?? undefined;
      const kv: KeyValue = {
        key,
        value,
        createRevision: previous ? Number(previous.create_revision) : revision,
        modRevision: revision,
        version: previous ? Number(previous.version) + 1 : 1,
        lease,
      };
      return { ok: true, revision, kv };
    });
  }

  /**
   * One etcd transaction: a compare per entry with expectModRevision and one for the guard, a put
   * per entry (in key order, so watchers see them in key order); the failure branch reads the
   * compared keys, then the guard key, to say which compare failed.
   */
  putMany(
    entries: readonly PutManyEntry[],
    options: { readonly requireKey?: KeyGuard } = {},
  ): Promise<WriteManyResult> {
    return this.#call(`write ${entries.length} keys`, async () => {
      const sorted = sortedBatch(entries);
      for (const e of sorted)
        if (e.lease !== undefined && !isLeaseIdShape(e.lease)) throw leaseNotFound(e.lease);
      if (sorted.length === 0) return { ok: true, revision: await this.revision(), kvs: [] };
      const compared = sorted.filter((e) => e.expectModRevision !== undefined);
      const guard = options.requireKey;
      const checks = [
        ...compared.map((e) => ({ key: this.#keys.key(e.key), modRevision: e.expectModRevision! })),
        ...(guard === undefined ? [] : [{ key: this.#keys.key(guard.key), modRevision: guard.modRevision }]),
      ];
      const response = await this.#client.kv.txn({
        compare: checks.map((c) => ({
          key: c.key,
          target: "Mod",
          result: "Equal",
          mod_revision: c.modRevision,
        })),
        success: sorted.map((e) => ({
          request_put: {
            key: this.#keys.key(e.key),
            value: Buffer.from(e.value),
            lease: e.lease ?? 0,
            prev_kv: true,
          },
        })),
        failure: checks.map((c) => ({ request_range: { key: c.key } })),
      });
      const revision = Number(response.header.revision);
      if (!response.succeeded) {
        const now = (i: number) => Number(response.responses[i]?.response_range.kvs[0]?.mod_revision ?? 0);
        const failed = new Set(compared.filter((e, i) => now(i) !== e.expectModRevision).map((e) => e.key));
        const conflicts = entries.filter((e) => failed.has(e.key)).map((e) => e.key);
        return guard !== undefined && now(compared.length) !== guard.modRevision
          ? { ok: false, revision, conflicts, guardFailed: true }
          : { ok: false, revision, conflicts };
      }
      const written = new Map<string, KeyValue>();
      sorted.forEach((e, i) => {
        const previous: IKeyValue | undefined = response.responses[i]?.response_put.prev_kv ?? undefined;
        written.set(e.key, {
          key: e.key,
          value: e.value,
          createRevision: previous ? Number(previous.create_revision) : revision,
          modRevision: revision,
          version: previous ? Number(previous.version) + 1 : 1,
          lease: e.lease,
        });
      });
      return { ok: true, revision, kvs: entries.map((e) => written.get(e.key)!) };
    });
  }

  delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    return this.#call(`delete ${key}`, async () => {
      const etcdKey = this.#keys.key(key);
      const guard = options.requireKey;
      const { succeeded, revision, responses } = await this.#transaction(
        etcdKey,
        options.expectModRevision,
        { request_delete_range: { key: etcdKey } },
        guard && { key: this.#keys.key(guard.key), modRevision: guard.modRevision },
      );
      if (succeeded) return { ok: true, revision, kv: undefined };
      return this.#refused(responses, revision, guard);
    });
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void, options: WatchOptions = {}): Promise<Watch> {
    return this.#call(`watch ${prefix}`, async () => {
      // Without a start revision, begin after a linearizable read of the current one: a watch
      // attaches on whichever member the client picked, and a member still applying the leader's
      // log would otherwise replay writes the caller already saw acknowledged.
      const afterRevision = options.afterRevision ?? (await this.revision());
      if (options.afterRevision !== undefined) await this.#requireHistory(prefix, afterRevision);
      const { key, range_end } = this.#keys.range(prefix);
      const builder = this.#client
        .watch()
        .inRange({ start: key, end: range_end })
        .startRevision(String(afterRevision + 1));
      const watch = new EtcdWatch(builder.watcher(), this.#keys, onEvent, afterRevision, (err) => {
        this.#watches.delete(watch);
        (options.onLost ?? this.#onError)(err);
      });
      this.#watches.add(watch);
      try {
        await watch.attached();
      } catch (err) {
        this.#watches.delete(watch);
        await watch.cancel().catch(() => {});
        throw err;
      }
      return {
        cancel: async () => {
          this.#watches.delete(watch);
          await watch.cancel();
        },
      };
    });
  }

  /**
   * etcd counts lease TTLs in whole seconds: ttlMs is rounded up (1,500 ms -> 2 s), and etcd itself
   * raises a TTL below its minimum (1.5 election timeouts, rounded up to seconds).
   */
  grantLease(ttlMs: number): Promise<LeaseId> {
    return this.#call("grant a lease", async () => {
      const response = await this.#client.leaseClient.leaseGrant({
        TTL: Math.max(1, Math.ceil(ttlMs / 1_000)),
      });
      return response.ID as LeaseId;
    });
  }

  keepAlive(lease: LeaseId): Promise<void> {
    return this.#call(`keep lease ${lease} alive`, async () => {
      if (!isLeaseIdShape(lease)) throw leaseNotFound(lease);
      // Each keep-alive is a stream to a member the client picks at random, and the client keeps
      // picking a member that is down (for streams it opens its circuit only after several
      // failures): with the etcd leader killed, a third of the keep-alives failed at once and a
      // node whose few keep-alives in a row did (a 3 s lease, one a second) lost its lease or its
      // leadership during the election. A failed attempt is tried again, on another pick, until
      // the call's deadline.
      const deadline = Date.now() + this.#callTimeoutMs;
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#keepAliveOnce(lease, deadline - Date.now());
          return;
        } catch (err) {
          const pauseMs = attempt === 0 ? 0 : Math.min(25 * 2 ** attempt, 500);
          if (isTealError(err, "LEASE_NOT_FOUND") || this.#closed || Date.now() + pauseMs >= deadline)
            throw err;
          await delay(pauseMs);
        }
      }
    });
  }

  async #keepAliveOnce(lease: LeaseId, timeoutMs: number): Promise<void> {
    const stream = await this.#client.leaseClient.leaseKeepAlive();
    let timer: NodeJS.Timeout | undefined;
    try {
      const response = await new Promise<{ TTL: string }>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no keep-alive answer within ${this.#callTimeoutMs} ms`)),
          timeoutMs,
        );
        stream.on("data", resolve);
        stream.on("error", reject);
        stream.write({ ID: lease });
      });
      // etcd answers a keep-alive for an expired or unknown lease with TTL 0, not an error.
      if (Number(response.TTL) <= 0) throw leaseNotFound(lease);
    } finally {
      clearTimeout(timer);
      stream.end();
    }
  }

  revokeLease(lease: LeaseId): Promise<void> {
    return this.#call(`revoke lease ${lease}`, async () => {
      if (!isLeaseIdShape(lease)) throw leaseNotFound(lease);
      await this.#client.leaseClient.leaseRevoke({ ID: lease });
    });
  }

  /** Cancels every watch first (the etcd client would otherwise keep the process alive), then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const watches = [...this.#watches];
    this.#watches.clear();
    await Promise.all(watches.map((watch) => watch.cancel().catch(() => {})));
    this.#client.close();
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new TealError("STORE_CLOSED", "the store is closed");
    try {
      return await run();
    } catch (err) {
      throw storeError(err, this.#endpoints, what);
    }
  }

  /**
   * One write, conditional on the key's modRevision when asked (0: the key must not exist), and
   * on a guard key's modRevision when given. The failure branch reads the key, then the guard key.
   */
  async #transaction(
    key: Buffer,
    expectModRevision: number | undefined,
    write: NonNullable<ITxnRequest["success"]>[number],
    guard?: { readonly key: Buffer; readonly modRevision: number },
  ): Promise<{ succeeded: boolean; revision: number; responses: IResponseOp[] }> {
    const compare: NonNullable<ITxnRequest["compare"]> = [];
    if (expectModRevision !== undefined) {
      compare.push({ key, target: "Mod", result: "Equal", mod_revision: expectModRevision });
    }
    if (guard !== undefined) {
      compare.push({ key: guard.key, target: "Mod", result: "Equal", mod_revision: guard.modRevision });
    }
    const response = await this.#client.kv.txn({
      compare,
      success: [write],
      failure: [
        { request_range: { key } },
        ...(guard === undefined ? [] : [{ request_range: { key: guard.key } }]),
      ],
    });
    return {
      succeeded: response.succeeded,
      revision: Number(response.header.revision),
      responses: response.responses,
    };
  }

  /** A failed #transaction as a WriteResult: which compare failed, from its failure branch's reads. */
  #refused(responses: IResponseOp[], revision: number, guard: KeyGuard | undefined): WriteResult {
    const current = this.#current(responses);
    // etcd does not say which compare failed: the failure branch read the guard key too.
    const guardNow = Number(responses[1]?.response_range.kvs[0]?.mod_revision ?? 0);
    return guard !== undefined && guardNow !== guard.modRevision
      ? { ok: false, revision, current, guardFailed: true }
      : { ok: false, revision, current };
  }

  #current(responses: IResponseOp[]): KeyValue | undefined {
    const kv = responses[0]?.response_range.kvs[0];
    return kv ? this.#keys.record(kv) : undefined;
  }

  /** STORE_COMPACTED when etcd no longer holds the changes after `afterRevision`. */
  async #requireHistory(prefix: string, afterRevision: number): Promise<void> {
    try {
      await this.#client.kv.range({
        ...this.#keys.range(prefix),
        revision: afterRevision + 1,
        count_only: true,
      });
    } catch (err) {
      if (isFutureRevisionError(err)) return; // nothing has happened since: nothing to replay
      throw err;
    }
  }
}

/** Doubling delays up to maxMs, in the shape the etcd client's watch manager asks for. */
function cappedBackoff(delayMs: number, maxMs: number): WatchBackoff {
  return { duration: delayMs, next: () => cappedBackoff(Math.min(delayMs * 2, maxMs), maxMs) };
}

function leaseNotFound(lease: string): TealError {
  return new TealError("LEASE_NOT_FOUND", `lease ${lease} has expired or was revoked`, {
    details: { lease },
  });
}
