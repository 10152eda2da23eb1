/** The active key beside the routing record: what other tools read, and when it changes. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { activeKey, RoutingRepository } from "../../src/control/routing-repository.ts";
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
});
