/** Shared fixtures for the store contract: a manual clock, a per-test store and a watch recorder. */

import assert from "node:assert/strict";
import { afterEach, beforeEach } from "node:test";
import { type ErrorCode, isTealError } from "../../../src/domain/errors.ts";
import type { Clock } from "../../../src/store/clock.ts";
import type { LeaseId, Store, WatchEvent } from "../../../src/store/store.ts";
import { eventually } from "../../support/eventually.ts";

/** What an adapter's factory hands the contract. */
export interface StoreHarness {
  readonly store: Store;
  /** Closes the current store and opens the same data again (persistent adapters only). */
  readonly reopen?: () => Promise<Store>;
  /** Closes whichever store is current and removes its files. */
  readonly cleanup: () => Promise<void>;
  /**
   * The adapter's leases run on real time in another process (etcd), not on the injected clock:
   * the lease cases then use TTLs of 1 s and wait for expiry to be observable instead of moving
   * the clock. Their assertions stay the same.
   */
  readonly realTimeLeases?: boolean;
}

/** Builds a store on the given clock, keeping `historyLimit` revisions of change history. */
export type StoreFactory = (
  clock: Clock,
  options: { readonly historyLimit: number },
) => Promise<StoreHarness>;

/** A clock that moves only when a test says so. */
export class ManualClock implements Clock {
  #nowMs = 1_700_000_000_000;

  now(): number {
    return this.#nowMs;
  }

  advance(ms: number): void {
    this.#nowMs += ms;
  }
}

/** How the lease cases let time pass, on the ManualClock or on real time. */
export interface LeaseTime {
  /** Time passes, but less than a TTL since any lease was granted or kept alive. */
  within(ms: number): Promise<void>;
  /**
   * Time passes until the leases holding `keys` have run out: on the ManualClock exactly `ms`;
   * on real time until the store no longer shows the keys, keeping `keepAlive` alive meanwhile
   * the way a live node does.
   */
  expire(ms: number, keys: readonly string[], keepAlive?: LeaseId): Promise<void>;
}

export interface Fixture {
  readonly store: Store;
  readonly clock: ManualClock;
  readonly time: LeaseTime;
  readonly harness: StoreHarness;
}

function manualTime(clock: ManualClock): LeaseTime {
  const advance = async (ms: number): Promise<void> => clock.advance(ms);
  return { within: advance, expire: advance };
}

/** Real time: the case goes on at once (well inside a 1 s TTL), or waits for the keys to go. */
function realTime(store: () => Store): LeaseTime {
  return {
    within: async () => {},
    async expire(_ms, keys, keepAlive) {
      // A heartbeat, as a node keeps its lease: the wait itself is on the keys disappearing.
      const heartbeat =
        keepAlive === undefined
          ? undefined
          : setInterval(
              () =>
                void store()
                  .keepAlive(keepAlive)
                  .catch(() => {}),
              250,
            );
      try {
        await eventually(
          async () =>
            (await Promise.all(keys.map((key) => store().get(key)))).every((kv) => kv === undefined),
          `leased keys ${keys.join(", ")} to expire`,
        );
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}

/** Gives every test in the enclosing describe a fresh store, cleaned up afterwards. */
export function useFixture(makeStore: StoreFactory, historyLimit = 1_000): () => Fixture {
  let current: Fixture | undefined;
  beforeEach(async () => {
    const clock = new ManualClock();
    const made = await makeStore(clock, { historyLimit });
    // Real-time expiry is observed on whichever store is open, also after a reopen.
    let live = made.store;
    const reopen = made.reopen;
    const harness: StoreHarness =
      reopen === undefined
        ? made
        : {
            ...made,
            reopen: async () => {
              live = await reopen();
              return live;
            },
          };
    const time = harness.realTimeLeases ? realTime(() => live) : manualTime(clock);
    current = { store: harness.store, clock, time, harness };
  });
  afterEach(async () => {
    await current?.harness.cleanup();
    current = undefined;
  });
  return () => {
    assert.ok(current, "fixture used outside a test");
    return current;
  };
}

/** Asserts that a call rejects with a TealError carrying `code`. */
export async function rejectsWith(call: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(call, (err) => {
    assert.ok(isTealError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/** One event as a short line, so tests compare whole sequences at once. */
export function describeEvent(event: WatchEvent): string {
  return event.type === "put"
    ? `put ${event.kv.key}=${event.kv.value} @${event.revision}`
    : `delete ${event.key} @${event.revision}`;
}

/** Collects a watch's events and lets a test wait for a count of them. */
export class EventRecorder {
  readonly events: WatchEvent[] = [];
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly onEvent = (event: WatchEvent): void => {
    this.events.push(event);
    for (const waiter of [...this.#waiters]) {
      if (this.events.length < waiter.count) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  /** The events so far as lines, see describeEvent. */
  lines(): string[] {
    return this.events.map(describeEvent);
  }

  /**
   * Resolves with the lines once `count` events have arrived. The guard timer only turns a
   * missing event into a clear failure instead of a hung test.
   */
  async waitFor(count: number, guardMs = 5_000): Promise<string[]> {
    if (this.events.length < count) {
      await new Promise<void>((resolve, reject) => {
        const guard = setTimeout(
          () => reject(new Error(`saw ${this.lines().join(", ")}; wanted ${count}`)),
          guardMs,
        );
        this.#waiters.push({
          count,
          resolve: () => {
            clearTimeout(guard);
            resolve();
          },
        });
      });
    }
    return this.lines();
  }
}
