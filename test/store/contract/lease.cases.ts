/**
 * Contract cases for leases: expiry, keep-alive and revoke. Time moves through LeaseTime: on the
 * injected clock, or on real time for adapters whose leases expire in another process.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LeaseId } from "../../../src/store/store.ts";
import { EventRecorder, rejectsWith, type StoreFactory, useFixture } from "./harness.ts";

export function leaseCases(makeStore: StoreFactory): void {
  describe("leases", () => {
    const fixture = useFixture(makeStore);

    it("removes a leased key once its TTL has passed on the clock, with a delete event", async () => {
      const { store, time } = fixture();
      const seen = new EventRecorder();
      await store.watch("hosts/", seen.onEvent);
      const lease = await store.grantLease(1_000);
      const put = await store.put("hosts/a", "up", { lease });
      assert.equal(put.ok && put.kv?.lease, lease);
      await time.within(999);
      assert.equal((await store.get("hosts/a"))?.value, "up");
      await time.expire(1, ["hosts/a"]);
      assert.equal(await store.get("hosts/a"), undefined);
      assert.deepEqual(await seen.waitFor(2), ["put hosts/a=up @1", "delete hosts/a @2"]);
    });

    it("hides expired keys from list even before anything else notices the expiry", async () => {
      const { store, time } = fixture();
      const lease = await store.grantLease(500);
      await store.put("hosts/a", "up", { lease });
      await store.put("hosts/b", "static");
      await time.expire(500, ["hosts/a"]);
      const { items } = await store.list("hosts/");
      assert.deepEqual(
        items.map((kv) => kv.key),
        ["hosts/b"],
      );
    });

    it("keepAlive pushes the deadline a full TTL past now", async () => {
      const { store, time } = fixture();
      const lease = await store.grantLease(1_000);
      await store.put("hosts/a", "up", { lease });
      // Granted at the same moment and never kept alive: its key shows when a TTL has passed.
      const unattended = await store.grantLease(1_000);
      await store.put("hosts/b", "up", { lease: unattended });
      await time.within(800);
      await store.keepAlive(lease);
      await time.expire(800, ["hosts/b"], lease);
      assert.equal((await store.get("hosts/a"))?.value, "up");
      assert.equal(await store.get("hosts/b"), undefined);
      await time.expire(200, ["hosts/a"]);
      assert.equal(await store.get("hosts/a"), undefined);
    });

    it("revoking a lease deletes all its keys and emits a delete event for each", async () => {
      const { store } = fixture();
      const seen = new EventRecorder();
      const lease = await store.grantLease(60_000);
      await store.put("hosts/b", "up", { lease });
      await store.put("hosts/a", "up", { lease });
      await store.put("hosts/c", "static");
      await store.watch("hosts/", seen.onEvent);
      await store.revokeLease(lease);
      const lines = await seen.waitFor(2);
      assert.deepEqual(
        lines.map((line) => line.replace(/ @\d+$/, "")),
        ["delete hosts/a", "delete hosts/b"],
      );
      assert.deepEqual(
        (await store.list("hosts/")).items.map((kv) => kv.key),
        ["hosts/c"],
      );
      await rejectsWith(store.keepAlive(lease), "LEASE_NOT_FOUND");
    });

    it("keepAlive on an expired lease fails with LEASE_NOT_FOUND", async () => {
      const { store, time } = fixture();
      const lease = await store.grantLease(1_000);
      await store.put("hosts/a", "up", { lease });
      await time.expire(1_000, ["hosts/a"]);
      await rejectsWith(store.keepAlive(lease), "LEASE_NOT_FOUND");
      await rejectsWith(store.revokeLease(lease), "LEASE_NOT_FOUND");
    });

    it("refuses a put on an unknown lease with LEASE_NOT_FOUND and writes nothing", async () => {
      const { store } = fixture();
      await rejectsWith(store.put("hosts/a", "up", { lease: "no-such-lease" as LeaseId }), "LEASE_NOT_FOUND");
      assert.equal(await store.get("hosts/a"), undefined);
      assert.equal(await store.revision(), 0);
    });

    it("detaches a key from its lease when it is put again without one", async () => {
      const { store, time } = fixture();
      const lease = await store.grantLease(1_000);
      await store.put("hosts/a", "leased", { lease });
      await store.put("hosts/a", "permanent");
      // Still on the lease: shows when it has run out.
      await store.put("hosts/witness", "leased", { lease });
      await time.expire(5_000, ["hosts/witness"]);
      const kv = await store.get("hosts/a");
      assert.deepEqual([kv?.value, kv?.lease], ["permanent", undefined]);
    });

    // The fleet's leader election (src/fleet/leader-election.ts) is exactly this: a create-only
    // put of "leader" under each candidate's lease.
    it("a create-only put under a lease fails for a second candidate while the first lease lives, and wins once it expired", async () => {
      const { store, time } = fixture();
      const first = await store.grantLease(1_000);
      const won = await store.put("leader", "a", { expectModRevision: 0, lease: first });
      assert.equal(won.ok, true);
      const second = await store.grantLease(1_000);
      const lost = await store.put("leader", "b", { expectModRevision: 0, lease: second });
      assert.equal(lost.ok, false);
      assert.deepEqual(
        [lost.ok ? undefined : lost.current?.value, lost.ok ? undefined : lost.current?.lease],
        ["a", first],
      );
      // The second candidate keeps its own lease alive while the first one's runs out.
      await time.within(500);
      await store.keepAlive(second);
      await time.expire(500, ["leader"], second);
      const next = await store.put("leader", "b", { expectModRevision: 0, lease: second });
      assert.equal(next.ok, true);
      const kv = await store.get("leader");
      assert.deepEqual([kv?.value, kv?.lease], ["b", second]);
    });

    // ...and a leader fences its writes with requireKey on its own leader key's modRevision.
    it("refuses a write guarded by a leased key once that lease has expired, also after another candidate won", async () => {
      const { store, time } = fixture();
      const first = await store.grantLease(1_000);
      const won = await store.put("leader", "a", { expectModRevision: 0, lease: first });
      const guard = { key: "leader", modRevision: won.revision };
      assert.equal((await store.put("routing/web", "green", { requireKey: guard })).ok, true);
      await time.expire(1_000, ["leader"]);
      const vacant = await store.put("routing/web", "blue", { requireKey: guard });
      assert.equal(vacant.ok ? undefined : vacant.guardFailed, true);
      const second = await store.grantLease(1_000);
      const next = await store.put("leader", "b", { expectModRevision: 0, lease: second });
      assert.equal(next.ok, true);
      const stale = await store.put("routing/web", "blue", { requireKey: guard });
      assert.equal(stale.ok ? undefined : stale.guardFailed, true);
      const fresh = await store.put("routing/web", "blue", {
        requireKey: { key: "leader", modRevision: next.revision },
      });
      assert.equal(fresh.ok, true);
      assert.equal((await store.get("routing/web"))?.value, "blue");
    });
  });
}
