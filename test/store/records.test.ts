/** The typed-record layer: decoding, compare-and-swap, and quarantine of corrupt records. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTealError } from "../../src/domain/errors.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { RecordCollection } from "../../src/store/records.ts";

interface Service {
  readonly name: string;
  readonly port: number;
}

function decodeService(json: unknown): Service {
  const { name, port } = (json ?? {}) as Record<string, unknown>;
  if (typeof name !== "string" || typeof port !== "number") throw new Error("not a service");
  return { name, port };
}

function setup() {
  const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
  return { store, services: new RecordCollection(store, "services/", decodeService) };
}

describe("record collection", () => {
  it("reads back what it wrote, with the modRevision for compare-and-swap", async () => {
    const { store, services } = setup();
    await services.put("api", { name: "api", port: 8080 });
    assert.deepEqual(await services.get("api"), {
      id: "api",
      value: { name: "api", port: 8080 },
      modRevision: 1,
    });
    assert.equal(await services.get("web"), undefined);
    await store.close();
  });

  it("refuses a write whose expected modRevision is stale", async () => {
    const { store, services } = setup();
    const created = await services.put("api", { name: "api", port: 8080 }, 0);
    assert.ok(created.ok);
    await services.put("api", { name: "api", port: 8081 }, created.revision);
    const stale = await services.put("api", { name: "api", port: 9999 }, created.revision);
    assert.equal(stale.ok, false);
    assert.equal((await services.get("api"))?.value.port, 8081);
    await store.close();
  });

  it("quarantines corrupt records with their raw text and still lists the good ones", async () => {
    const { store, services } = setup();
    await services.put("web", { name: "web", port: 3000 });
    await store.put("services/broken", '{"name": "broken", "port":');
    await store.put("services/wrong-shape", '{"name": "wrong-shape"}');
    await services.put("api", { name: "api", port: 8080 });

    const listed = await services.list();
    assert.deepEqual(
      listed.items.map((record) => record.value.name),
      ["api", "web"],
    );
    assert.deepEqual(listed.quarantined, ["services/broken", "services/wrong-shape"]);
    assert.equal((await store.get("quarantine/services/broken"))?.value, '{"name": "broken", "port":');
    assert.equal(await store.get("services/broken"), undefined);

    const again = await services.list();
    assert.deepEqual([again.items.length, again.quarantined], [2, []]);
    await store.close();
  });

  it("reports a corrupt record asked for by id as RECORD_CORRUPT and leaves it in place", async () => {
    const { store, services } = setup();
    await store.put("services/broken", "not json");
    await assert.rejects(services.get("broken"), (err) => isTealError(err, "RECORD_CORRUPT"));
    assert.equal((await store.get("services/broken"))?.value, "not json");
    await store.close();
  });

  it("refuses a prefix that would overlap the quarantine area", () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    for (const prefix of ["", "quarantine/services/", "quar"]) {
      assert.throws(
        () => new RecordCollection(store, prefix, decodeService),
        (err) => isTealError(err, "INVALID_REQUEST"),
      );
    }
  });
});
