/** The active key beside the routing record: what other tools read, and when it changes. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { activeKey, RoutingRepository } from "../../src/control/routing-repository.ts";
import { isTealError } from "../../src/domain/errors.ts";
import { INITIAL_ROUTING } from "../../src/domain/routing.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { EventRecorder } from "./contract/harness.ts";

describe("the active key", () => {
  it("follows the live color and its version, and is not rewritten by a split step", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const versions = { blue: "v1", green: "v2" } as const;
    const routing = new RoutingRepository(store, { versionOf: (_service, color) => versions[color] });
    const seen = new EventRecorder();
    await store.watch(activeKey("web"), seen.onEvent);
    try {
      let revision = await routing.save("web", INITIAL_ROUTING, 0);
      revision = await routing.save("web", { ...INITIAL_ROUTING, greenPercent: 10 }, revision);
      revision = await routing.save("web", { ...INITIAL_ROUTING, greenPercent: 50 }, revision);
      await routing.save("web", { ...INITIAL_ROUTING, live: "green", greenPercent: 100 }, revision);
      assert.deepEqual(
        (await seen.waitFor(2)).map((line) => line.replace(/ @\d+$/, "")),
        [
          'put services/web/active={"color":"blue","version":"v1"}',
          'put services/web/active={"color":"green","version":"v2"}',
        ],
      );
    } finally {
      await store.close();
    }
  });

  it("publishes version null for a color with nothing deployed", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    try {
      await new RoutingRepository(store).publishActive("legacy", "blue");
      assert.equal((await store.get("services/legacy/active"))?.value, '{"color":"blue","version":null}');
    } finally {
      await store.close();
    }
  });

  it("is written in the routing record's transaction: one revision, both keys", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const routing = new RoutingRepository(store);
    try {
      const first = await routing.save("web", INITIAL_ROUTING, 0);
      const second = await routing.save(
        "web",
        { ...INITIAL_ROUTING, live: "green", greenPercent: 100 },
        first,
      );
      assert.equal(await store.revision(), 2);
      assert.equal((await store.get("routing/web"))?.modRevision, second);
      assert.equal((await store.get(activeKey("web")))?.modRevision, second);
    } finally {
      await store.close();
    }
  });

  it("is right after another leader's saves: this server's last value is not trusted once the routing moved", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const a = new RoutingRepository(store);
    const b = new RoutingRepository(store);
    const green = { ...INITIAL_ROUTING, live: "green" as const, greenPercent: 100 };
    try {
      const r1 = await a.save("web", green, 0);
      const r2 = await a.save("web", INITIAL_ROUTING, r1); // a last wrote blue
      const r3 = await b.save("web", green, r2); // another leader switched to green
      assert.equal(JSON.parse((await store.get(activeKey("web")))!.value).color, "green");
      // a leads again and, having followed b's record, switches back to blue: its last value
      // (blue) must not stand in for the key, which says green.
      await a.save("web", INITIAL_ROUTING, r3);
      assert.equal(JSON.parse((await store.get(activeKey("web")))!.value).color, "blue");
    } finally {
      await store.close();
    }
  });

  it("is right after another tool rewrote it: the failed compare on it reads it and writes again", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const routing = new RoutingRepository(store);
    try {
      const r1 = await routing.save("web", INITIAL_ROUTING, 0);
      await store.put(activeKey("web"), "edited by hand");
      await routing.save("web", { ...INITIAL_ROUTING, live: "green", greenPercent: 100 }, r1);
      assert.equal((await store.get(activeKey("web")))?.value, '{"color":"green","version":null}');
      assert.equal(JSON.parse((await store.get("routing/web"))!.value).live, "green");
    } finally {
      await store.close();
    }
  });

  it("refuses a stale routing base with CONFLICT and writes neither key", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const routing = new RoutingRepository(store);
    try {
      const r1 = await routing.save("web", INITIAL_ROUTING, 0);
      await routing.save("web", { ...INITIAL_ROUTING, greenPercent: 10 }, r1);
      await assert.rejects(
        routing.save("web", { ...INITIAL_ROUTING, live: "green", greenPercent: 100 }, r1),
        (err) => isTealError(err, "CONFLICT"),
      );
      assert.equal(JSON.parse((await store.get(activeKey("web")))!.value).color, "blue");
      assert.equal(JSON.parse((await store.get("routing/web"))!.value).greenPercent, 10);
    } finally {
      await store.close();
    }
  });
});
