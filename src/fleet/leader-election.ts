/**
 * Exactly one `teal server` on a prefix leads: it alone drives deployments and takes commands
 * that change state. The election is a compare-and-swap create of `leader` under the candidate's
 * lease, through the Store port (etcd: a transaction on mod_revision 0 plus an etcd lease): the
 * key exists while its leader keeps the lease alive, and vanishes when the leader resigns (it
 * revokes the lease) or dies (the lease expires after its TTL). Every server watches the key and
 * campaigns again as soon as it is gone; whoever creates it first leads.
 *
 * The leader keeps its lease alive three times per TTL. If it cannot for a whole TTL (cut off
 * from etcd), it counts itself deposed: another node may have taken over by then.
 *
 * That alone cannot stop a leader that was paused (SIGSTOP, a VM freeze, a long GC) past its TTL:
 * when it runs again, its timers fire before it hears that another node leads. So its writes are
 * fenced (leader-fence.ts): each carries `guard()`, the leader key at the modRevision this node
 * wrote it, in the same transaction; a refused write calls `stepDown`.
 */

import { isTealError } from "../domain/errors.ts";
import { followPrefix } from "../store/follow-prefix.ts";
import type { KeyGuard, KeyValue, LeaseId, Store, Watch, WatchEvent } from "../store/store.ts";

/** `<prefix>/leader`: the leading node, on its lease. */
export const LEADER_KEY = "leader";

export interface LeaderRecord {
  readonly node: string;
  /** Where its admin API answers, e.g. http://10.0.0.1:7070: where commands go. */
  readonly admin: string;
  /** When it won the election (ISO 8601). */
  readonly since: string;
  /** Set just before a leader revokes its lease on a clean stop: it stepped down, it did not die. */
  readonly resigning?: boolean;
}

export function parseLeaderRecord(value: string): LeaderRecord | undefined {
  try {
    const r = JSON.parse(value) as Partial<LeaderRecord>;
    if (typeof r.node === "string" && typeof r.admin === "string" && typeof r.since === "string") {
      return { node: r.node, admin: r.admin, since: r.since, ...(r.resigning ? { resigning: true } : {}) };
    }
  } catch {}
  return undefined;
}

/** Why this node now leads: the first election on the prefix, or a takeover from a named node. */
export interface Election {
  /** The node that led before, if this node saw one. */
  readonly previous?: string;
  /** e.g. "node b took over from node a: a's lease expired". */
  readonly reason: string;
}

export interface LeaderElectionOptions {
  readonly node: string;
  readonly admin: string;
  readonly ttlMs: number;
  /** This node won; resolves when it is ready to take commands (recovery has run). */
  readonly onElected: (election: Election) => Promise<void>;
  /** This node lost the lease while leading (cut off from etcd for a TTL). */
  readonly onDeposed: (reason: string) => void;
  readonly onWarning: (message: string, err?: unknown) => void;
}

export type Leadership =
  /** Won, and recovery is still running: commands wait for it. */
  | { readonly state: "taking-over"; readonly leader: LeaderRecord }
  | { readonly state: "leader"; readonly leader: LeaderRecord }
  | { readonly state: "follower"; readonly leader: LeaderRecord | undefined };

export class LeaderElection {
  readonly #store: Store;
  readonly #options: LeaderElectionOptions;
  /** The leader as last read or watched (this node's own record while it leads). */
  #current: LeaderRecord | undefined;
  /** The last leader seen before the key vanished: who a takeover takes over from. */
  #previous: LeaderRecord | undefined;
  #lease: LeaseId | undefined;
  #state: Leadership["state"] = "follower";
  #lastKeptAlive = 0;
  #campaigning = false;
  #inFlight: Promise<void> | undefined;
  /** The leader key's modRevision as last read or watched (0: no key). */
  #currentRevision = 0;
  /** The modRevision of the leader key as this node last wrote it while leading: its fence. */
  #ownRevision = 0;
  /** The key vanished during a campaign that then lost: campaign once more. */
  #again = false;
  #closed = false;
  #watch: Watch | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: Store, options: LeaderElectionOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Watches the leader key and campaigns once; resolves when this node knows who leads (or nobody could be reached). */
  async start(): Promise<void> {
    this.#watch = await followPrefix(this.#store, LEADER_KEY, this, undefined, {
      onWarning: this.#options.onWarning,
    });
    // Campaigns again when no leader is known (etcd was out of reach), keeps the lease alive when leading.
    this.#timer = setInterval(() => void this.#tick(), Math.max(200, Math.floor(this.#options.ttlMs / 3)));
    await this.#campaign();
  }

  leadership(): Leadership {
    if (this.#state === "follower") return { state: "follower", leader: this.#current };
    return { state: this.#state, leader: this.#current as LeaderRecord };
  }

  /**
   * While this node leads (or takes over): the condition its writes carry, so that they happen
   * only while the leader key is still the one it wrote. Undefined when it does not lead.
   */
  guard(): KeyGuard | undefined {
    return this.#state === "follower" ? undefined : { key: LEADER_KEY, modRevision: this.#ownRevision };
  }

  /** A fenced write was refused: another node leads, or the key expired. This node stops leading. */
  stepDown(reason: string): void {
    this.#depose(reason);
  }

  /** Steps down: marks the record as resigning, then revokes the lease so the next node takes over at once. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#watch?.cancel().catch(() => {});
    const lease = this.#lease;
    if (lease === undefined) return;
    if (this.#state !== "follower" && this.#current !== undefined) {
      const record: LeaderRecord = { ...this.#current, resigning: true };
      const written = await this.#store
        .put(LEADER_KEY, JSON.stringify(record), {
          lease,
          requireKey: { key: LEADER_KEY, modRevision: this.#ownRevision },
        })
        .catch(() => undefined);
      // Writes still under way while it stops (deployments aborting) stay within its fence.
      if (written?.ok) this.#ownRevision = written.revision;
    }
    await this.#store.revokeLease(lease).catch(() => {});
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[]): void => {
    const kv = items.find((item) => item.key === LEADER_KEY);
    if (kv === undefined) this.#vacated();
    else {
      this.#current = parseLeaderRecord(kv.value);
      this.#currentRevision = kv.modRevision;
      // A reload after a lost watch: the key may have changed hands while this node was cut off.
      if (this.#state !== "follower" && kv.modRevision !== this.#ownRevision) {
        this.#depose(`node ${this.#current?.node ?? "?"} leads now`);
      }
    }
  };

  readonly onEvent = (event: WatchEvent): void => {
    if (event.type === "put") {
      if (event.kv.key === LEADER_KEY) {
        this.#current = parseLeaderRecord(event.kv.value);
        this.#currentRevision = event.kv.modRevision;
        // The key changed hands while this node slept: its own delete event may be compacted away.
        if (this.#state !== "follower" && event.kv.modRevision !== this.#ownRevision) {
          this.#depose(`node ${this.#current?.node ?? "?"} leads now`);
        }
      }
    } else if (event.key === LEADER_KEY) {
      this.#vacated();
    }
  };

  #vacated(): void {
    if (this.#current !== undefined) this.#previous = this.#current;
    this.#current = undefined;
    this.#currentRevision = 0;
    if (this.#state !== "follower") this.#depose("the leader key vanished (its lease expired)");
    if (this.#campaigning) this.#again = true;
    else void this.#campaign();
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    if (this.#state === "follower") {
      if (this.#current === undefined) await this.#campaign();
      return;
    }
    try {
      await this.#store.keepAlive(this.#lease as LeaseId);
      this.#lastKeptAlive = Date.now();
    } catch (err) {
      if (isTealError(err, "LEASE_NOT_FOUND")) {
        this.#depose("its lease expired");
      } else if (Date.now() - this.#lastKeptAlive >= this.#options.ttlMs) {
        this.#depose(`it could not keep its lease alive for ${this.#options.ttlMs / 1_000} s`);
      }
    }
  }

  #depose(reason: string): void {
    if (this.#state === "follower") return;
    this.#state = "follower";
    this.#lease = undefined;
    this.#options.onDeposed(reason);
  }

  /**
   * One campaign at a time, and every caller waits for the one under way: start() must not resolve
   * while a campaign begun by the watch's first read is still settling (teal would say it listens
   * before it takes commands).
   */
  #campaign(): Promise<void> {
    this.#inFlight ??= this.#campaignOnce().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #campaignOnce(): Promise<void> {
    if (this.#campaigning || this.#closed || this.#state !== "follower") return;
    this.#campaigning = true;
    let lease: LeaseId | undefined;
    try {
      lease = await this.#store.grantLease(this.#options.ttlMs);
      const record: LeaderRecord = {
        node: this.#options.node,
        admin: this.#options.admin,
        since: new Date().toISOString(),
      };
      // A key naming this very node is a former run of it that died leading (node names are
      // unique in a fleet, and one server runs per data directory): take it back at once.
      const mine = this.#current?.node === this.#options.node;
      const result = await this.#store.put(LEADER_KEY, JSON.stringify(record), {
        expectModRevision: mine ? this.#currentRevision : 0,
        lease,
      });
      if (!result.ok) {
        // Someone leads; the watch tells who (and when the key goes, which campaigns again).
        await this.#store.revokeLease(lease).catch(() => {});
        return;
      }
      this.#lease = lease;
      this.#ownRevision = result.revision;
      this.#lastKeptAlive = Date.now();
      this.#current = record;
      this.#state = "taking-over";
      const election = this.#election();
      this.#campaigning = false;
      try {
        await this.#options.onElected(election);
      } finally {
        // Deposed meanwhile: stays a follower.
        if (this.#state === "taking-over") this.#state = "leader";
      }
    } catch (err) {
      if (lease !== undefined && this.#lease !== lease) await this.#store.revokeLease(lease).catch(() => {});
      this.#options.onWarning("could not campaign for leadership; trying again", err);
    } finally {
      this.#campaigning = false;
    }
    if (this.#again) {
      this.#again = false;
      await this.#campaignOnce();
    }
  }

  #election(): Election {
    const me = this.#options.node;
    const previous = this.#previous;
    this.#previous = undefined;
    if (previous === undefined || previous.node === me) {
      return { reason: `node ${me} leads: no other node held the leader key` };
    }
    const why = previous.resigning ? `${previous.node} stepped down` : `${previous.node}'s lease expired`;
    return { previous: previous.node, reason: `node ${me} took over from node ${previous.node}: ${why}` };
  }
}
