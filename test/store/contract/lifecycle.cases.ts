/** Contract cases for close and, for persistent adapters, reopen. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LeaseId } from "../../../src/store/store.ts";
import { EventRecorder, rejectsWith, type StoreFactory, useFixture } from "./harness.ts";

export function lifecycleCases(makeStore: StoreFactory, persistent: boolean): void {
  describe("lifecycle", () => {
    const fixture = useFixture(makeStore);

    it("rejects every call after close with STORE_CLOSED, and closing twice is harmless", async () => {
      const { store } = fixture();
      await store.put("k", "v");
      await store.close();
      await store.close();
      const lease = "any" as LeaseId;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["revision", () => store.revision()],
        ["get", () => store.get("k")],
        ["list", () => store.list("")],
        ["put", () => store.put("k", "v")],
        ["delete", () => store.delete("k")],
        ["watch", () => store.watch("", () => {})],
        ["grantLease", () => store.grantLease(1_000)],
        ["keepAlive", () => store.keepAlive(lease)],
        ["revokeLease", () => store.revokeLease(lease)],
      ];
      for (const [name, call] of calls) {
        await rejectsWith(call(), "STORE_CLOSED").catch((err: unknown) => {
          throw new Error(`${name} after close`, { cause: err });
        });
      }
    });

    if (!persistent) return;
    it("keeps keys, revisions, change history and leases across a reopen", async () => {
      const { harness, time } = fixture();
      assert.ok(harness.reopen, "a persistent adapter's harness can reopen its store");
      const before = harness.store;
      const lease = await before.grantLease(1_000);
      await before.put("svc/a", "1");
      await before.put("svc/a", "2");
      await before.put("hosts/a", "up", { lease });
      await before.delete("svc/a");
      await before.put("svc/b", "3");
      const snapshot = await before.list("");

      const after = await harness.reopen();
      assert.deepEqual(await after.list(""), snapshot);
      const replayed = new EventRecorder();
      await after.watch("svc/", replayed.onEvent, { afterRevision: 1 });
      assert.deepEqual(await replayed.waitFor(3), ["put svc/a=2 @2", "delete svc/a @4", "put svc/b=3 @5"]);
      assert.equal((await after.put("svc/c", "4")).revision, 6);

      await after.keepAlive(lease);
      await time.expire(1_000, ["hosts/a"]);
      assert.equal(await after.get("hosts/a"), undefined);
    });
  });
}
