import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DataPlane } from "../../src/proxy/data-plane.ts";
import type { DataPlaneSpec, ServiceSpec } from "../../src/traffic/spec.ts";
import { diffSpecs, patchSpec } from "../../src/workers/spec-change.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";

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

/**
 * CPU time of `rounds` switches of one service among `count`, each the control process's part
 * (diff against what a worker holds) and a worker's (its copy patched, then applied to a proxy).
 */
function switchCpuUs(count: number, rounds: number): number {
  const all: ServiceSpec[] = Array.from({ length: count }, (_, i) =>
    serviceSpec(
      `s${i}`,
      { blue: ["http://127.0.0.1:9001"], green: ["http://127.0.0.1:9002"] },
      { routes: [{ host: `s${i}.test`, path: "/", stripPrefix: false }] },
    ),
  );
  let control: DataPlaneSpec = { generation: 1, services: all };
  let worker: DataPlaneSpec = JSON.parse(JSON.stringify(control));
  const plane = new DataPlane(testSettings);
  plane.apply(worker);
  const flips = Array.from({ length: rounds }, (_, r) => r % count);
  const start = process.cpuUsage();
  for (const [r, i] of flips.entries()) {
    const before = control.services[i]!;
    const services = [...control.services]; // as SpecBuilder.one does
    services[i] = { ...before, routing: { ...before.routing, live: r % 2 === 0 ? "green" : "blue" } };
    const next = { generation: control.generation + 1, services };
    const change = JSON.parse(JSON.stringify(diffSpecs(control, next)));
    worker = patchSpec(worker, change);
    plane.apply(worker);
    control = next;
  }
  const used = process.cpuUsage(start);
  assert.equal(plane.generation, control.generation);
  return used.user + used.system;
}

describe("the work of a switch", () => {
  // With 1,000 services it used to build three maps of every service per switch (diff, patch,
  // apply): ~0.3 ms each on the path of the switch call, 15-31 times the cost at 10 services
  // (measured); now 3-5 times (a pointer comparison and an array copy per service remain).
  it("does not grow with the number of services (1,000 against 10)", () => {
    switchCpuUs(1_000, 500); // warm-up of both sizes: the JIT, not the code, at first
    switchCpuUs(10, 500);
    const ratios = [0, 1, 2].map(() => switchCpuUs(1_000, 3_000) / switchCpuUs(10, 3_000));
    const best = Math.min(...ratios);
    assert.ok(
      best < 8,
      `a switch among 1,000 services cost ${best.toFixed(1)}x one among 10 (${ratios.map((r) => r.toFixed(1)).join(", ")})`,
    );
  });
});
