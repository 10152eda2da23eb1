/** One health probe against real HTTP servers on 127.0.0.1: what counts as passing, and why not. */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type HealthConfig, healthSchema } from "../../src/config/schema.ts";
import { probe } from "../../src/health/probe.ts";
import { type Backend, type Handler, startBackend } from "../support/backends.ts";

const backends: Backend[] = [];
after(() => Promise.all(backends.map((b) => b.close())));

async function serve(handler: Handler): Promise<Backend> {
  const backend = await startBackend("health", handler);
  backends.push(backend);
  return backend;
}

function answer(status: number, body: string): Handler {
  return (req, res) => {
    req.resume();
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  };
}

const health = (overrides: Partial<HealthConfig> = {}): HealthConfig => ({
  ...healthSchema.parse({}),
  ...overrides,
});

describe("health probe", () => {
  it("passes on an expected status and reports the version the instance says it runs", async () => {
    const backend = await serve(answer(200, JSON.stringify({ version: "v7" })));
    const outcome = await probe(backend.url, health());
    assert.equal(outcome.ok, true);
    assert.equal(outcome.status, 200);
    assert.equal(outcome.version, "v7");
    assert.equal(outcome.reason, undefined);
    assert.equal(backend.seen[0]?.url, "/health");
  });

  it("fails on an unexpected status, naming what it expected", async () => {
    const backend = await serve(answer(500, "{}"));
    assert.equal((await probe(backend.url, health())).reason, "status 500 (expected 200)");
    const either = await probe(backend.url, health({ expectStatus: [200, 204] }));
    assert.deepEqual(
      [either.ok, either.status, either.reason],
      [false, 500, "status 500 (expected 200 or 204)"],
    );
  });

  it("checks the version at versionField against the expected version", async () => {
    const backend = await serve(answer(200, JSON.stringify({ build: { version: "v1" } })));
    const nested = health({ versionField: "build.version" });
    const right = await probe(backend.url, nested, { expectedVersion: "v1" });
    assert.deepEqual([right.ok, right.version], [true, "v1"]);
    const wrong = await probe(backend.url, nested, { expectedVersion: "v2" });
    assert.deepEqual([wrong.ok, wrong.version, wrong.reason], [false, "v1", 'version "v1" (expected "v2")']);
    const noExpectation = await probe(backend.url, nested);
    assert.deepEqual([noExpectation.ok, noExpectation.version], [true, "v1"]);
  });

  it("fails a version check on a body that is not JSON or lacks the field", async () => {
    const text = await serve(answer(200, "OK"));
    const versioned = health({ versionField: "version" });
    const notJson = await probe(text.url, versioned, { expectedVersion: "v1" });
    assert.equal(notJson.reason, 'body is not JSON (needed for versionField "version")');
    assert.equal((await probe(text.url, health(), { expectedVersion: "v1" })).ok, true);

    const other = await serve(answer(200, JSON.stringify({ status: "up" })));
    const missing = await probe(other.url, versioned, { expectedVersion: "v1" });
    assert.equal(missing.reason, 'no field "version" in the body');
  });

  it("reads at most 64 KiB of the body", async () => {
    const huge = `{"version":"v1","padding":"${"x".repeat(1024 * 1024)}"}`;
    const backend = await serve(answer(200, huge));
    assert.equal((await probe(backend.url, health())).ok, true);
    const versioned = await probe(backend.url, health({ versionField: "version" }), {
      expectedVersion: "v1",
    });
    assert.equal(versioned.reason, 'body is over 64 KiB (needed for versionField "version")');
  });

  it("says connection refused when nothing listens any more", async () => {
    const backend = await startBackend("gone");
    await backend.close();
    const outcome = await probe(backend.url, health());
    assert.deepEqual([outcome.ok, outcome.reason], [false, "connection refused"]);
  });

  it("opens a new connection for every probe", async () => {
    const backend = await serve(answer(200, "{}"));
    let connections = 0;
    backend.server.on("connection", () => connections++);
    await probe(backend.url, health());
    await probe(backend.url, health());
    assert.equal(connections, 2);
  });

  it("times out on a server that never answers, or stalls in the body", async () => {
    const silent = await serve(() => {});
    assert.equal((await probe(silent.url, health({ timeoutMs: 100 }))).reason, "timed out after 100 ms");
    const stalled = await serve((_req, res) => {
      res.writeHead(200);
      res.write("{");
    });
    assert.equal((await probe(stalled.url, health({ timeoutMs: 100 }))).reason, "timed out after 100 ms");
  });

  it("resolves as aborted when its signal fires, and times itself with the given clock", async () => {
    const silent = await serve(() => {});
    const controller = new AbortController();
    let nowMs = 5_000;
    const pending = probe(silent.url, health(), { signal: controller.signal, now: () => nowMs });
    nowMs = 5_040;
    controller.abort();
    assert.deepEqual(await pending, { ok: false, atMs: 5_040, latencyMs: 40, reason: "aborted" });
  });
});
