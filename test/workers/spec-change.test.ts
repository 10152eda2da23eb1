import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DataPlaneSpec } from "../../src/traffic/spec.ts";
import { diffSpecs, patchSpec } from "../../src/workers/spec-change.ts";
import { serviceSpec } from "../support/data-plane.ts";

const services = Array.from({ length: 1_000 }, (_, i) =>
  serviceSpec(`s${i}`, { blue: ["http://127.0.0.1:9001"], green: ["http://127.0.0.1:9002"] }),
);
const base: DataPlaneSpec = { generation: 7, services };

describe("spec changes sent to proxy workers", () => {
  it("a switch of one service among 1,000 carries that service alone", () => {
    const switched = { ...services[42]!, routing: { ...services[42]!.routing, live: "green" as const } };
    const next = { generation: 8, services: services.map((s, i) => (i === 42 ? switched : s)) };
    const change = diffSpecs(base, next);
    assert.deepEqual(change, { base: 7, generation: 8, changed: [switched] });
    assert.ok(JSON.stringify(change).length < 1_000, "a few hundred bytes, not the whole world");
  });

  it("rebuilds the new spec from the worker's own, keeping every unchanged service's object", () => {
    const copy: DataPlaneSpec = JSON.parse(JSON.stringify(base)); // what a worker holds after IPC
    const switched = { ...services[3]!, routing: { ...services[3]!.routing, live: "green" as const } };
    const next = { generation: 8, services: services.map((s, i) => (i === 3 ? switched : s)) };
    const patched = patchSpec(copy, JSON.parse(JSON.stringify(diffSpecs(base, next))));
    assert.equal(JSON.stringify(patched), JSON.stringify(next));
    assert.equal(patched.services[4], copy.services[4]);
    assert.notEqual(patched.services[3], copy.services[3]);
  });

  it("names every service, in order, when services came or went", () => {
    const added = serviceSpec("new", { blue: ["http://127.0.0.1:9003"], green: [] });
    const next = { generation: 8, services: [added, ...services.slice(1)] };
    const change = diffSpecs(base, next);
    assert.deepEqual(change.changed, [added]);
    assert.deepEqual(
      change.names,
      next.services.map((s) => s.name),
    );
    assert.deepEqual(patchSpec(base, change), next);
  });
});
