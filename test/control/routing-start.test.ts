/**
 * Start-up with many services: the routing records and the active keys are read from the store
 * once each, not once per service (1,000 services made 2,000 reads, each of them also a lease
 * sweep in its own SQLite transaction), and a restart over unchanged state writes nothing.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.ts";
import type { DataPlanePort } from "../../src/control/data-plane-port.ts";
import { RoutingController } from "../../src/control/routing-controller.ts";
import { activeKey, RoutingRepository } from "../../src/control/routing-repository.ts";
import { INITIAL_ROUTING } from "../../src/domain/routing.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import type { Store } from "../../src/store/store.ts";
import type { DataPlaneSpec } from "../../src/traffic/spec.ts";

const COUNT = 300;

/** The store, with a count of each call teal makes on it. */
function counted(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

function dataPlane(specs: DataPlaneSpec[]): DataPlanePort {
  return {
    apply: async (spec) => void specs.push(spec),
    status: async () => [],
    listenerStats: async () => ({}) as never,
    drained: async () => undefined,
    listen: async () => "",
    close: async () => {},
  };
}

const config = parseConfigText(
  `services:\n${Array.from(
    { length: COUNT },
    (_, i) =>
      `  s${i}:\n    routes: [{ host: s${i}.test }]\n    blue: [http://127.0.0.1:9001]\n    green: [http://127.0.0.1:9002]\n`,
  ).join("")}`,
);

async function start(store: Store) {
  const c = counted(store);
  const warnings: string[] = [];
  const specs: DataPlaneSpec[] = [];
  const repository = new RoutingRepository(c.store);
  const controller = new RoutingController({
    config,
    repository,
    dataPlane: dataPlane(specs),
    onWarning: (m) => warnings.push(m),
  });
  await controller.start();
  await repository.publishAllActive(
    new Map(Object.keys(config.services).map((s) => [s, controller.routing(s).live])),
  );
  return { controller, warnings, specs, calls: c.calls };
}

describe("starting with many services", () => {
  it("reads every routing record and active key in one read each, and a restart writes nothing", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    try {
      const repository = new RoutingRepository(store);
      await repository.save("s7", { ...INITIAL_ROUTING, live: "green" }, 0);
      await store.put("routing/s8", "{not json");

      const first = await start(store);
      assert.equal(first.controller.routing("s7").live, "green");
      assert.equal(first.controller.routing("s8").live, "blue");
      assert.equal(first.controller.routing("s9").live, "blue");
      assert.deepEqual(first.warnings, ["routing record of s8 is unreadable; serving the default (blue)"]);
      assert.equal(first.specs.length, 1);
      assert.equal(first.specs[0]!.services.length, COUNT);
      assert.equal(first.calls.get("get") ?? 0, 0, "no read per service");
      assert.equal(first.calls.get("list"), 2);
      // s7's active key was published by its save; every other service gets its own now.
      assert.equal(first.calls.get("put"), COUNT - 1);
      assert.equal((await store.get(activeKey("s7")))?.value, '{"color":"green","version":null}');
      assert.equal((await store.get(activeKey("s299")))?.value, '{"color":"blue","version":null}');

      const again = await start(store);
      assert.equal(again.controller.routing("s7").live, "green");
      assert.deepEqual(Object.fromEntries(again.calls), { list: 2 });
    } finally {
      await store.close();
    }
  });
});
