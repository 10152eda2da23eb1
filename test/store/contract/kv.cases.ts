/** Contract cases for reads, writes, revisions and compare-and-swap. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type StoreFactory, useFixture } from "./harness.ts";

export function kvCases(makeStore: StoreFactory): void {
  describe("keys and revisions", () => {
    const fixture = useFixture(makeStore);

    it("starts empty at revision 0", async () => {
      const { store } = fixture();
      assert.equal(await store.revision(), 0);
      assert.equal(await store.get("missing"), undefined);
      assert.deepEqual(await store.list(""), { items: [], revision: 0 });
    });

    it("returns what was put, stamped with the revision of the write", async () => {
      const { store } = fixture();
      const result = await store.put("svc/api", '{"port":8080}');
      assert.deepEqual(result, {
        ok: true,
        revision: 1,
        kv: {
          key: "svc/api",
          value: '{"port":8080}',
          createRevision: 1,
          modRevision: 1,
          version: 1,
          lease: undefined,
        },
      });
      assert.deepEqual(await store.get("svc/api"), result.kv);
    });

    it("bumps one revision, shared by all keys, on every write", async () => {
      const { store } = fixture();
      const revisions = [];
      for (const key of ["a", "b", "a", "c"]) revisions.push((await store.put(key, "x")).revision);
      assert.deepEqual(revisions, [1, 2, 3, 4]);
      assert.equal(await store.revision(), 4);
      assert.equal((await store.get("b"))?.modRevision, 2);
    });

    it("counts versions from 1 and keeps createRevision across updates", async () => {
      const { store } = fixture();
      await store.put("other", "x");
      await store.put("k", "1");
      await store.put("k", "2");
      const kv = await store.get("k");
      assert.deepEqual([kv?.value, kv?.version, kv?.createRevision, kv?.modRevision], ["2", 2, 2, 3]);
    });

    it("starts createRevision and version over when a deleted key is put again", async () => {
      const { store } = fixture();
      await store.put("k", "1");
      await store.put("k", "2");
      await store.delete("k");
      assert.equal(await store.get("k"), undefined);
      await store.put("k", "3");
      const kv = await store.get("k");
      assert.deepEqual([kv?.version, kv?.createRevision, kv?.modRevision], [1, 4, 4]);
    });

    it("writes when expectModRevision matches the key's modRevision", async () => {
      const { store } = fixture();
      const first = await store.put("k", "1");
      assert.ok(first.ok);
      const second = await store.put("k", "2", { expectModRevision: first.revision });
      assert.equal(second.ok, true);
      assert.equal((await store.get("k"))?.value, "2");
    });

    it("refuses a stale compare-and-swap, returning the current value and changing nothing", async () => {
      const { store } = fixture();
      await store.put("k", "1");
      await store.put("k", "2");
      const current = await store.get("k");
      const result = await store.put("k", "lost update", { expectModRevision: 1 });
      assert.deepEqual(result, { ok: false, revision: 2, current });
      assert.equal(await store.revision(), 2);
      assert.deepEqual(await store.get("k"), current);
    });

    it("with expectModRevision 0, creates a missing key but never overwrites an existing one", async () => {
      const { store } = fixture();
      assert.equal((await store.put("lock", "me", { expectModRevision: 0 })).ok, true);
      const second = await store.put("lock", "you", { expectModRevision: 0 });
      assert.equal(second.ok, false);
      assert.equal(second.ok ? undefined : second.current?.value, "me");
      assert.equal(await store.revision(), 1);
    });

    // requireKey: a guard on another key in the same transaction (the fleet leader's fence).
    it("with requireKey, writes only while the guard key keeps that modRevision", async () => {
      const { store } = fixture();
      const leader = await store.put("leader", "a");
      const guard = { key: "leader", modRevision: leader.revision };
      const written = await store.put("routing/web", "green", { requireKey: guard });
      assert.equal(written.ok, true);
      await store.put("leader", "b");
      const current = await store.get("routing/web");
      const refused = await store.put("routing/web", "blue", { requireKey: guard });
      assert.deepEqual(refused, { ok: false, revision: 3, current, guardFailed: true });
      assert.equal(await store.revision(), 3);
      assert.equal((await store.get("routing/web"))?.value, "green");
    });

    it("with requireKey modRevision 0, writes only while the guard key does not exist", async () => {
      const { store } = fixture();
      const absent = { key: "leader", modRevision: 0 };
      assert.equal((await store.put("k", "1", { requireKey: absent })).ok, true);
      await store.put("leader", "a");
      const refused = await store.put("k", "2", { requireKey: absent });
      assert.equal(refused.ok, false);
      assert.equal(refused.ok ? undefined : refused.guardFailed, true);
      // A guard on a key that was deleted fails too: its modRevision is gone with it.
      await store.delete("leader");
      assert.equal((await store.put("k", "3", { requireKey: { key: "leader", modRevision: 2 } })).ok, false);
      assert.equal((await store.get("k"))?.value, "1");
    });

    it("combines requireKey with expectModRevision: both must hold, and guardFailed names the guard", async () => {
      const { store } = fixture();
      const leader = await store.put("leader", "a");
      const guard = { key: "leader", modRevision: leader.revision };
      const first = await store.put("k", "1");
      const stale = await store.put("k", "2", { expectModRevision: 99, requireKey: guard });
      assert.equal(stale.ok, false);
      // Only the compare failed: not the guard.
      assert.equal(stale.ok ? undefined : stale.guardFailed, undefined);
      const both = await store.put("k", "2", { expectModRevision: first.revision, requireKey: guard });
      assert.equal(both.ok, true);
      await store.put("leader", "b");
      const fenced = await store.put("k", "3", {
        expectModRevision: both.revision,
        requireKey: guard,
      });
      assert.equal(fenced.ok ? undefined : fenced.guardFailed, true);
      assert.equal((await store.get("k"))?.value, "2");
    });

    it("deletes with requireKey only while the guard key keeps that modRevision; guardFailed names it", async () => {
      const { store } = fixture();
      const leader = await store.put("leader", "a");
      const guard = { key: "leader", modRevision: leader.revision };
      await store.put("tasks/n1/web/blue", "run");
      await store.put("tasks/n1/web/green", "run");
      assert.equal((await store.delete("tasks/n1/web/blue", { requireKey: guard })).ok, true);
      assert.equal(await store.get("tasks/n1/web/blue"), undefined);
      await store.put("leader", "b");
      const current = await store.get("tasks/n1/web/green");
      const refused = await store.delete("tasks/n1/web/green", { requireKey: guard });
      assert.deepEqual(refused, { ok: false, revision: 5, current, guardFailed: true });
      assert.equal(await store.revision(), 5);
      assert.equal((await store.get("tasks/n1/web/green"))?.value, "run");
      // With a compare too: both must hold, and a failed compare alone is not the guard's.
      const fresh = { key: "leader", modRevision: 5 };
      const stale = await store.delete("tasks/n1/web/green", { expectModRevision: 1, requireKey: fresh });
      assert.equal(stale.ok, false);
      assert.equal(stale.ok ? undefined : stale.guardFailed, undefined);
      const both = await store.delete("tasks/n1/web/green", {
        expectModRevision: current!.modRevision,
        requireKey: fresh,
      });
      assert.equal(both.ok, true);
      assert.equal(await store.get("tasks/n1/web/green"), undefined);
    });

    it("deletes with compare-and-swap only when the modRevision matches", async () => {
      const { store } = fixture();
      await store.put("k", "1");
      await store.put("k", "2");
      const stale = await store.delete("k", { expectModRevision: 1 });
      assert.equal(stale.ok, false);
      assert.equal((await store.get("k"))?.value, "2");
      const fresh = await store.delete("k", { expectModRevision: 2 });
      assert.deepEqual(fresh, { ok: true, revision: 3, kv: undefined });
      assert.equal(await store.get("k"), undefined);
    });

    it("does not bump the revision when deleting a key that does not exist", async () => {
      const { store } = fixture();
      await store.put("k", "1");
      assert.deepEqual(await store.delete("ghost"), { ok: true, revision: 1, kv: undefined });
      assert.equal((await store.delete("ghost", { expectModRevision: 5 })).ok, false);
      assert.equal(await store.revision(), 1);
    });

    it("lists only keys under the prefix, sorted by key, with the revision they were read at", async () => {
      const { store } = fixture();
      for (const key of ["svc/b", "svcx", "svc/a", "job/a", "svc/c/1", "svc/é", "svc/z"])
        await store.put(key, key);
      await store.delete("svc/z");
      const { items, revision } = await store.list("svc/");
      assert.deepEqual(
        items.map((kv) => kv.key),
        ["svc/a", "svc/b", "svc/c/1", "svc/é"],
      );
      assert.equal(revision, 8);
      assert.ok(items.every((kv) => kv.modRevision <= revision));
    });
  });
}
