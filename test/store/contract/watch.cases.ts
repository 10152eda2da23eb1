/** Contract cases for watches: live delivery, replay from a revision, compaction and cancel. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventRecorder, rejectsWith, type StoreFactory, useFixture } from "./harness.ts";

export function watchCases(makeStore: StoreFactory): void {
  describe("watches", () => {
    const fixture = useFixture(makeStore);

    it("delivers live puts and deletes under its prefix only, in revision order", async () => {
      const { store } = fixture();
      await store.put("svc/old", "before the watch");
      const seen = new EventRecorder();
      await store.watch("svc/", seen.onEvent);
      await store.put("svc/a", "1");
      await store.put("job/a", "not watched");
      await store.put("svc/b", "2");
      await store.delete("svc/a");
      assert.deepEqual(await seen.waitFor(3), ["put svc/a=1 @2", "put svc/b=2 @4", "delete svc/a @5"]);
    });

    it("replays exactly the missed events after a revision, then live ones, without gaps or duplicates", async () => {
      const { store } = fixture();
      await store.put("svc/a", "1");
      const { revision: seenUpTo } = await store.list("svc/");
      await store.put("svc/a", "2");
      await store.put("job/x", "ignored");
      await store.delete("svc/a");
      const seen = new EventRecorder();
      await store.watch("svc/", seen.onEvent, { afterRevision: seenUpTo });
      await store.put("svc/b", "3");
      assert.deepEqual(await seen.waitFor(3), ["put svc/a=2 @2", "delete svc/a @4", "put svc/b=3 @5"]);
    });

    it("replays a key's whole record, as it was at that revision", async () => {
      const { store } = fixture();
      await store.put("svc/a", "1");
      await store.put("svc/a", "2");
      const seen = new EventRecorder();
      await store.watch("svc/", seen.onEvent, { afterRevision: 0 });
      await seen.waitFor(2);
      const first = seen.events[0];
      assert.equal(first?.type, "put");
      assert.deepEqual(first.type === "put" && first.kv, {
        key: "svc/a",
        value: "1",
        createRevision: 1,
        modRevision: 1,
        version: 1,
        lease: undefined,
      });
    });

    it("delivers nothing to a cancelled watch", async () => {
      const { store } = fixture();
      const cancelled = new EventRecorder();
      const control = new EventRecorder();
      const watch = await store.watch("svc/", cancelled.onEvent);
      await store.watch("svc/", control.onEvent);
      await store.put("svc/a", "1");
      await cancelled.waitFor(1);
      await watch.cancel();
      await store.put("svc/a", "2");
      await control.waitFor(2);
      assert.deepEqual(cancelled.lines(), ["put svc/a=1 @1"]);
    });

    it("keeps revision order for every watcher when a listener writes from inside its callback", async () => {
      const { store } = fixture();
      const writer = new EventRecorder();
      const observer = new EventRecorder();
      await store.watch("svc/", (event) => {
        writer.onEvent(event);
        if (event.type === "put" && event.kv.key === "svc/a") void store.put("svc/b", "reaction");
      });
      await store.watch("svc/", observer.onEvent);
      await store.put("svc/a", "1");
      const expected = ["put svc/a=1 @1", "put svc/b=reaction @2"];
      assert.deepEqual(await observer.waitFor(2), expected);
      assert.deepEqual(await writer.waitFor(2), expected);
    });
  });

  describe("watch history limits", () => {
    const fixture = useFixture(makeStore, 3);

    it("fails with STORE_COMPACTED when asked to replay from before the kept history", async () => {
      const { store } = fixture();
      for (let i = 1; i <= 10; i++) await store.put("svc/k", String(i));
      await rejectsWith(
        store.watch("svc/", () => {}, { afterRevision: 0 }),
        "STORE_COMPACTED",
      );
      await rejectsWith(
        store.watch("svc/", () => {}, { afterRevision: 6 }),
        "STORE_COMPACTED",
      );
      const seen = new EventRecorder();
      await store.watch("svc/", seen.onEvent, { afterRevision: 7 });
      assert.deepEqual(await seen.waitFor(3), ["put svc/k=8 @8", "put svc/k=9 @9", "put svc/k=10 @10"]);
    });
  });
}
