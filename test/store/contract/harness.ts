/** Shared fixtures for the store contract: a manual clock, a per-test store and a watch recorder. */

import assert from "node:assert/strict";
import { afterEach, beforeEach } from "node:test";
import { type ErrorCode, isTealError } from "../../../src/domain/errors.ts";
import type { Clock } from "../../../src/store/clock.ts";
import type { Store, WatchEvent } from "../../../src/store/store.ts";

/** What an adapter's factory hands the contract. */
export interface StoreHarness {
  readonly store: Store;
  /** Closes the current store and opens the same data again (persistent adapters only). */
  readonly reopen?: () => Promise<Store>;
  /** Closes whichever store is current and removes its files. */
  readonly cleanup: () => Promise<void>;
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

export interface Fixture {
  readonly store: Store;
  readonly clock: ManualClock;
  readonly harness: StoreHarness;
}

/** Gives every test in the enclosing describe a fresh store, cleaned up afterwards. */
export function useFixture(makeStore: StoreFactory, historyLimit = 1_000): () => Fixture {
  let current: Fixture | undefined;
  beforeEach(async () => {
    const clock = new ManualClock();
    const harness = await makeStore(clock, { historyLimit });
    current = { store: harness.store, clock, harness };
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
  async waitFor(count: number): Promise<string[]> {
    if (this.events.length < count) {
      await new Promise<void>((resolve, reject) => {
        const guard = setTimeout(
          () => reject(new Error(`saw ${this.lines().join(", ")}; wanted ${count}`)),
          5_000,
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
