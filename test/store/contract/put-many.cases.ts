/** Contract cases for putMany: several keys in one transaction, at one revision, or none. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_PUT_MANY } from "../../../src/store/store.ts";
import { EventRecorder, rejectsWith, type StoreFactory, useFixture } from "./harness.ts";

export function putManyCases(makeStore: StoreFactory): void {
  describe("putMany", () => {
    const fixture = useFixture(makeStore);

    it("writes every key at one new revision, answers in entry order, and watchers see them in key order", async () => {
      const { store } = fixture();
      const seen = new EventRecorder();
      await store.watch("s/", seen.onEvent);
      await store.put("s/b", "old");
      const result = await store.putMany([
        { key: "s/c", value: "3" },
        { key: "s/a", value: "1" },
        { key: "s/b", value: "2" },
      ]);
      assert.ok(result.ok);
      assert.equal(result.revision, 2);
      assert.deepEqual(
        result.kvs.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version]),
        [
          ["s/c", "3", 2, 2, 1],
          ["s/a", "1", 2, 2, 1],
          ["s/b", "2", 1, 2, 2],
        ],
      );
      assert.equal(await store.revision(), 2);
      assert.deepEqual((await store.list("s/")).items, [result.kvs[1], result.kvs[2], result.kvs[0]]);
      const live = ["put s/b=old @1", "put s/a=1 @2", "put s/b=2 @2", "put s/c=3 @2"];
      assert.deepEqual(await seen.waitFor(4), live);
      // The same from history.
      const replayed = new EventRecorder();
      const watch = await store.watch("s/", replayed.onEvent, { afterRevision: 0 });
      assert.deepEqual(await replayed.waitFor(4), live);
      await watch.cancel();
    });

    it("writes nothing when one entry's compare fails, and names that key", async () => {
      const { store } = fixture();
      const a = await store.put("a", "1");
      await store.put("b", "1");
      const result = await store.putMany([
        { key: "a", value: "2", expectModRevision: a.revision },
        { key: "b", value: "2", expectModRevision: a.revision },
        { key: "c", value: "2", expectModRevision: 0 },
      ]);
      assert.deepEqual(result, { ok: false, revision: 2, conflicts: ["b"] });
      assert.equal(await store.revision(), 2);
      assert.deepEqual(
        (await store.list("")).items.map((kv) => kv.value),
        ["1", "1"],
      );
      const created = await store.putMany([
        { key: "c", value: "new", expectModRevision: 0 },
        { key: "a", value: "2", expectModRevision: a.revision },
      ]);
      assert.ok(created.ok);
      assert.equal((await store.get("c"))?.value, "new");
    });

    it("writes nothing when the guard key moved, and says the guard failed", async () => {
      const { store } = fixture();
      const leader = await store.put("leader", "me");
      const guard = { key: "leader", modRevision: leader.revision };
      assert.ok((await store.putMany([{ key: "routing/web", value: "blue" }], { requireKey: guard })).ok);
      await store.put("leader", "someone else");
      const refused = await store.putMany(
        [
          { key: "routing/web", value: "green" },
          { key: "services/web/active", value: "green" },
        ],
        { requireKey: guard },
      );
      assert.deepEqual(refused, { ok: false, revision: 3, conflicts: [], guardFailed: true });
      assert.equal((await store.get("routing/web"))?.value, "blue");
      assert.equal(await store.get("services/web/active"), undefined);
    });

    it("puts keys on their leases, and writes nothing when one lease is gone", async () => {
      const { store, time } = fixture();
      const lease = await store.grantLease(1_000);
      const gone = await store.grantLease(1_000);
      await store.revokeLease(gone);
      const before = await store.revision();
      await rejectsWith(
        store.putMany([
          { key: "stats/a", value: "1", lease },
          { key: "stats/b", value: "1", lease: gone },
        ]),
        "LEASE_NOT_FOUND",
      );
      assert.equal(await store.revision(), before);
      assert.equal(await store.get("stats/a"), undefined);
      const result = await store.putMany([
        { key: "stats/a", value: "1", lease },
        { key: "stats/b", value: "1", lease },
        { key: "static", value: "1" },
      ]);
      assert.ok(result.ok);
      assert.deepEqual(
        result.kvs.map((kv) => kv.lease),
        [lease, lease, undefined],
      );
      await time.expire(1_000, ["stats/a", "stats/b"]);
      assert.deepEqual(
        (await store.list("")).items.map((kv) => kv.key),
        ["static"],
      );
    });

    it(`refuses more than ${MAX_PUT_MANY} keys or a key given twice with INVALID_REQUEST, and does nothing for none`, async () => {
      const { store } = fixture();
      const many = Array.from({ length: MAX_PUT_MANY + 1 }, (_, i) => ({ key: `k${i}`, value: "x" }));
      await rejectsWith(store.putMany(many), "INVALID_REQUEST");
      await rejectsWith(
        store.putMany([
          { key: "k", value: "1" },
          { key: "k", value: "2" },
        ]),
        "INVALID_REQUEST",
      );
      assert.equal(await store.revision(), 0);
      assert.deepEqual(await store.putMany([]), { ok: true, revision: 0, kvs: [] });
      const most = await store.putMany(many.slice(0, MAX_PUT_MANY));
      assert.ok(most.ok && most.kvs.length === MAX_PUT_MANY && most.revision === 1);
    });
  });
}
