/**
 * A node's presence in the fleet: `nodes/<name>` holds the routing revision the node serves
 * (JSON `{"revision":42,"time":"…","version":"0.1.0","heartbeatMs":1666}`) on a lease the node
 * keeps alive. A node that dies or loses etcd drops out when the lease expires; when it reaches
 * etcd again it takes a new lease and publishes again. Writes are coalesced: only the newest
 * revision matters. The record is also written again with each keep-alive (`heartbeatMs` apart),
 * so that the other nodes see when it last reached etcd: the lease alone says so only once it
 * has expired.
 */

import { isTealError } from "../domain/errors.ts";
import type { LeaseId, Store } from "../store/store.ts";

export const NODES_PREFIX = "nodes/";
export const nodeKey = (name: string): string => NODES_PREFIX + name;

export interface NodeRecord {
  readonly revision: number;
  /** When the node published it (ISO 8601). */
  readonly time: string;
  /** The node's teal version. */
  readonly version: string;
  /** How often the node writes its record again while it reaches etcd (absent from older nodes). */
  readonly heartbeatMs?: number;
  /** The node runs an agent (`teal server --node`): the leader writes it tasks. */
  readonly agent?: boolean;
}

/** The record in a `nodes/*` value, or undefined if it is not one. */
export function parseNodeRecord(value: string): NodeRecord | undefined {
  try {
    const r = JSON.parse(value) as Partial<NodeRecord>;
    if (typeof r.revision === "number" && typeof r.time === "string" && typeof r.version === "string") {
      const heartbeat = typeof r.heartbeatMs === "number" ? { heartbeatMs: r.heartbeatMs } : {};
      const agent = r.agent === true ? { agent: true } : {};
      return { revision: r.revision, time: r.time, version: r.version, ...heartbeat, ...agent };
    }
  } catch {}
  return undefined;
}

export interface NodeKeyOptions {
  readonly ttlMs: number;
  readonly version: string;
  /** Published as `"agent": true`: this node runs the instances the leader's tasks ask for. */
  readonly agent?: boolean;
  /** Told when the node starts or stops reaching etcd (keep-alives and writes failing). */
  readonly onConnected?: (connected: boolean, err?: unknown) => void;
}

export class NodeKey {
  readonly #store: Store;
  readonly #name: string;
  readonly #options: NodeKeyOptions;
  #lease: LeaseId | undefined;
  /** The revision served. */
  #revision = 0;
  #connected = false;
  #busy = false;
  #again = false;
  /** A keep-alive is under way (one at a time). */
  #keeping = false;
  #closed = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: Store, name: string, options: NodeKeyOptions) {
    this.#store = store;
    this.#name = name;
    this.#options = options;
  }

  get name(): string {
    return this.#name;
  }

  /** Whether the last keep-alive or write reached etcd. */
  get connected(): boolean {
    return this.#connected;
  }

  get revision(): number {
    return this.#revision;
  }

  /** Publishes a first time (the caller's failure if etcd cannot be reached), then keeps alive. */
  async start(revision: number): Promise<void> {
    // A revision served before the start (a server following others' writes) is kept.
    this.#revision = Math.max(this.#revision, revision);
    this.#started = true;
    await this.#sync();
    if (!this.#connected) throw new Error(`could not publish ${nodeKey(this.#name)}`);
    // Three keep-alives per TTL: one lost answer does not let the lease expire.
    this.#timer = setInterval(() => void this.#heartbeat(), this.#heartbeatMs);
  }

  /**
   * The node now serves `revision`: published at once (or when etcd is back), with one write and
   * no keep-alive first (the heartbeat keeps the lease): a switch waits for this write.
   */
  serve(revision: number): void {
    if (revision <= this.#revision) return;
    this.#revision = revision;
    if (this.#started) void this.#run();
  }

  get #heartbeatMs(): number {
    return Math.max(200, Math.floor(this.#options.ttlMs / 3));
  }

  /** Stops keeping alive and revokes the lease, so the node leaves the fleet at once. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#lease !== undefined) await this.#store.revokeLease(this.#lease).catch(() => {});
  }

  /**
   * Keeps the lease alive, then writes the record (the heartbeat the other nodes see). The
   * keep-alive is not one of the record's write passes: a revision served while it is under way
   * is written at once, not after its round trip (a switch waits for that write).
   */
  async #heartbeat(): Promise<void> {
    if (this.#keeping || this.#closed) return;
    const lease = this.#lease;
    if (lease !== undefined) {
      this.#keeping = true;
      try {
        await this.#store.keepAlive(lease);
      } catch (err) {
        if (!isTealError(err, "LEASE_NOT_FOUND")) return this.#setConnected(false, err);
        // Expired while etcd was out of reach: the key is gone; a new lease brings it back (unless
        // a write took one meanwhile).
        if (this.#lease === lease) this.#lease = undefined;
      } finally {
        this.#keeping = false;
      }
    }
    await this.#run();
  }

  /** One write pass at a time; a request during a pass runs one more pass after it. */
  async #run(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        await this.#sync();
      } while (this.#again && !this.#closed);
    } finally {
      this.#busy = false;
    }
  }

  async #sync(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#lease === undefined) {
        this.#lease = await this.#store.grantLease(this.#options.ttlMs);
      }
      await this.#write().catch(async (err: unknown) => {
        if (!isTealError(err, "LEASE_NOT_FOUND")) throw err;
        // Without a keep-alive first, the lease may have run out unseen: a new one, and again.
        this.#lease = await this.#store.grantLease(this.#options.ttlMs);
        await this.#write();
      });
      this.#setConnected(true);
    } catch (err) {
      this.#setConnected(false, err);
    }
  }

  /** Every pass writes: the write is the heartbeat the other nodes see (one put per TTL/3). */
  async #write(): Promise<void> {
    const record: NodeRecord = {
      revision: this.#revision,
      time: new Date().toISOString(),
      version: this.#options.version,
      heartbeatMs: this.#heartbeatMs,
      ...(this.#options.agent ? { agent: true } : {}),
    };
    await this.#store.put(nodeKey(this.#name), JSON.stringify(record), { lease: this.#lease });
  }

  #setConnected(connected: boolean, err?: unknown): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.#options.onConnected?.(connected, err);
  }
}
