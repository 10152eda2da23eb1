/**
 * LeasedRecords (a node's instance reports and traffic counters on its own lease): a keep-alive
 * asked for while a write is under way is not lost. In one process, on the memory store behind a
 * Store wrapper that holds a write until the test lets it go (as a write waits while etcd elects
 * a leader) and counts keep-alives.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeasedRecords } from "../../src/fleet/leased-records.ts";
import { DelegatingStore } from "../../src/store/delegating-store.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import type { LeaseId, PutOptions, WriteResult } from "../../src/store/store.ts";

class HeldWrites extends DelegatingStore {
  keepAlives = 0;
  #held: Array<() => void> = [];
  hold = false;

  override async put(key: string, value: string, options?: PutOptions): Promise<WriteResult> {
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    return this.inner.put(key, value, options);
  }

  override keepAlive(lease: LeaseId): Promise<void> {
    this.keepAlives++;
    return this.inner.keepAlive(lease);
  }

  release(): void {
    this.hold = false;
    for (const resolve of this.#held.splice(0)) resolve();
  }
}

describe("leased records", () => {
  it("keeps the lease alive when the keep-alive came while a write was under way", async (t) => {
    const memory = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const store = new HeldWrites(memory);
    const errors: unknown[] = [];
    const records = new LeasedRecords(store, 60_000, (err) => errors.push(err));
    t.after(async () => {
      await records.close();
      await memory.close();
    });
    await records.put("instances/b/web/blue", "1");
    store.hold = true;
    const writing = records.put("instances/b/web/blue", "2");
    // The interval's keep-alive, while the write waits.
    const tick = records.sync(true);
    store.release();
    await Promise.all([writing, tick]);
    assert.equal(store.keepAlives, 1);
    assert.equal((await memory.get("instances/b/web/blue"))?.value, "2");
    assert.deepEqual(errors, []);
  });
});
