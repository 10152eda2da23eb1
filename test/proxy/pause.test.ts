import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";

const withRouting = (spec: ServiceSpec, routing: Partial<ServiceSpec["routing"]>): ServiceSpec => ({
  ...spec,
  routing: { ...spec.routing, ...routing },
});

describe("pause, resume and maintenance", () => {
  it("holds new requests while paused and releases them in arrival order on resume", async () => {
    const blue = await startBackend("blue", (req, res) => res.end(req.url));
    const spec = serviceSpec("web", { blue: [blue.url], green: [] });
    const { plane, url, generation } = await startDataPlane([withRouting(spec, { paused: true })]);
    const replies: Promise<string>[] = [];
    for (const path of ["/1", "/2", "/3"]) {
      replies.push(get(`${url}${path}`).then((r) => r.body));
      await eventually(() => plane.status()[0]!.held === replies.length, `${path} to be held`);
    }
    assert.equal(blue.seen.length, 0, "nothing reached the backend while paused");
    plane.apply({ generation: generation.next(), services: [spec] });
    assert.deepEqual(await Promise.all(replies), ["/1", "/2", "/3"]);
    assert.deepEqual(
      blue.seen.map((r) => r.url),
      ["/1", "/2", "/3"],
    );
    await plane.close();
    await blue.close();
  });

  it("answers 503 to a request held longer than the pause timeout", async () => {
    const blue = await startBackend("blue");
    const spec = serviceSpec("web", { blue: [blue.url], green: [] }, { pauseTimeoutMs: 100 });
    const { plane, url } = await startDataPlane([withRouting(spec, { paused: true })]);
    const r = await get(`${url}/`);
    assert.equal(r.status, 503);
    assert.equal(r.headers["x-teal-error"], "paused_too_long");
    assert.equal(blue.seen.length, 0);
    await plane.close();
    await blue.close();
  });

  it("serves a 503 maintenance page with Retry-After, HTML to browsers", async () => {
    const blue = await startBackend("blue");
    const spec = serviceSpec("web", { blue: [blue.url], green: [] });
    const { plane, url, generation } = await startDataPlane([withRouting(spec, { maintenance: true })]);
    const page = await get(`${url}/`, { accept: "text/html" });
    assert.equal(page.status, 503);
    assert.equal(page.headers["retry-after"], "30");
    assert.match(page.body, /<h1>503 Service Unavailable<\/h1>.*down for maintenance/s);
    const api = await get(`${url}/`, { accept: "application/json" });
    assert.deepEqual(JSON.parse(api.body).error.code, "maintenance");
    plane.apply({ generation: generation.next(), services: [spec] });
    assert.equal((await get(`${url}/`)).body, "blue");
    await plane.close();
    await blue.close();
  });
});

describe("traffic statistics", () => {
  it("counts requests by status class, bytes and latency per color", async () => {
    const blue = await startBackend("blue", (req, res) => {
      res.statusCode = req.url === "/boom" ? 500 : req.url === "/missing" ? 404 : 200;
      res.end("x".repeat(10));
    });
    const spec = serviceSpec("web", { blue: [blue.url], green: [] });
    const { plane, url } = await startDataPlane([spec]);
    for (const path of ["/", "/", "/missing", "/boom"]) await get(`${url}${path}`);
    const stats = plane.status()[0]!.stats.blue;
    assert.deepEqual(stats.byClass, [0, 0, 2, 0, 1, 1]);
    assert.equal(stats.bytesOut, 40);
    assert.equal(stats.inFlight, 0);
    assert.equal(
      stats.latencyBuckets.reduce((a, b) => a + b, 0),
      4,
    );
    assert.deepEqual(plane.status()[0]!.stats.green.byClass, [0, 0, 0, 0, 0, 0]);
    await plane.close();
    await blue.close();
  });
});
