/** The generic web metric source against real HTTP servers on 127.0.0.1. */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { WebSource } from "../../src/analysis/web-source.ts";
import { type CheckConfig, checkSchema } from "../../src/config/schema.ts";
import type { Measurement } from "../../src/domain/analysis.ts";
import { type Backend, type Handler, startBackend } from "../support/backends.ts";
import { refusedUrl, startRawUpstream } from "../support/raw-upstream.ts";

const backends: Backend[] = [];
after(() => Promise.all(backends.map((b) => b.close())));

async function serve(handler: Handler): Promise<Backend> {
  const backend = await startBackend("metrics", handler);
  backends.push(backend);
  return backend;
}

function answer(status: number, body: string, type = "application/json"): Handler {
  return (req, res) => {
    req.resume();
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };
}

const json = (body: unknown) => answer(200, JSON.stringify(body));

const context = {
  service: "web",
  color: "green",
  stableColor: "blue",
  version: "v 2",
  windowMs: 30_000,
} as const;

const check = (url: string, jsonPath: string, extra: object = {}): CheckConfig =>
  checkSchema.parse({ name: "web", web: { url, jsonPath, ...extra }, max: 1 });

const measure = (c: CheckConfig, signal?: AbortSignal): Promise<Measurement> =>
  new WebSource().measure(c, { ...context, signal });

describe("web metric source", () => {
  it("reads a number, or a numeric string, at a dotted path", async () => {
    const backend = await serve(json({ data: { errorRate: 0.02, p99: "812.5" } }));
    assert.deepEqual(await measure(check(backend.url, "data.errorRate")), { value: 0.02, sampleSize: null });
    assert.deepEqual(await measure(check(backend.url, "data.p99")), { value: 812.5, sampleSize: null });
  });

  it("indexes arrays with numeric path segments", async () => {
    const backend = await serve(json({ results: [{ value: 3 }, { value: "4" }] }));
    assert.equal((await measure(check(backend.url, "results.1.value"))).value, 4);
    assert.equal((await measure(check(backend.url, "results.0.value"))).value, 3);
    const past = await measure(check(backend.url, "results.2.value"));
    assert.equal(past.error, `no "results.2.value" in the JSON from ${backend.url}`);
  });

  it("fills placeholders in the URL, encoded, and sends the check's headers", async () => {
    const backend = await serve(json({ v: 1 }));
    const url = `${backend.url}/metrics/{{service}}?color={{color}}&stable={{stableColor}}&v={{version}}&w={{window}}`;
    const c = check(url, "v", { headers: { authorization: "Bearer s3cret", "X-Team": "ops" } });
    assert.deepEqual(await measure(c), { value: 1, sampleSize: null });
    const seen = backend.seen[0]!;
    assert.equal(seen.url, "/metrics/web?color=green&stable=blue&v=v%202&w=30s");
    assert.equal(seen.headers.authorization, "Bearer s3cret");
    assert.equal(seen.headers["x-team"], "ops");
  });

  it("reports a non-2xx status with the URL", async () => {
    const backend = await serve(answer(500, JSON.stringify({ value: 1 })));
    const m = await measure(check(`${backend.url}/m`, "value"));
    assert.deepEqual(m, { value: null, sampleSize: null, error: `GET ${backend.url}/m answered HTTP 500` });
  });

  it("reports a body that is not JSON", async () => {
    const backend = await serve(answer(200, "errors=3", "text/plain"));
    assert.equal(
      (await measure(check(backend.url, "errors"))).error,
      `GET ${backend.url} did not answer JSON`,
    );
  });

  it("reports a missing path, and a value that is not a number, naming the path", async () => {
    const backend = await serve(json({ data: { rate: "high", flag: true, none: null, big: "Infinity" } }));
    const missing = await measure(check(backend.url, "data.errorRate"));
    assert.equal(missing.error, `no "data.errorRate" in the JSON from ${backend.url}`);
    const through = await measure(check(backend.url, "data.rate.value"));
    assert.equal(through.error, `no "data.rate.value" in the JSON from ${backend.url}`);
    const text = await measure(check(backend.url, "data.rate"));
    assert.equal(text.error, `"data.rate" is "high", not a number (from ${backend.url})`);
    assert.equal(
      (await measure(check(backend.url, "data.flag"))).error?.startsWith('"data.flag" is true'),
      true,
    );
    assert.equal(
      (await measure(check(backend.url, "data.none"))).error?.startsWith('"data.none" is null'),
      true,
    );
    assert.match((await measure(check(backend.url, "data.big"))).error ?? "", /not a number/);
    assert.match(
      (await measure(check(backend.url, "data"))).error ?? "",
      /^"data" is \{"rate":"high",.*…, not a number/,
    );
  });

  it("reports a refused connection, a timeout and an abort without rejecting", async () => {
    const refused = await refusedUrl();
    assert.equal((await measure(check(refused, "v"))).error, `GET ${refused}: connection refused`);

    const silent = await startRawUpstream();
    try {
      const timedOut = await measure(check(silent.url, "v", { timeoutMs: 100 }));
      assert.equal(timedOut.error, `GET ${silent.url}: timed out after 100 ms`);
      const controller = new AbortController();
      const pending = measure(check(silent.url, "v"), controller.signal);
      controller.abort();
      assert.equal((await pending).error, `GET ${silent.url}: aborted`);
    } finally {
      await silent.close();
    }
  });

  it("refuses an unknown placeholder in the URL", async () => {
    const m = await measure(check("http://127.0.0.1:1/{{env}}", "v"));
    assert.match(m.error ?? "", /^unknown placeholder \{\{env\}\} .* in the web URL$/);
  });

  it("answers an https URL it cannot reach with a reason, not a rejection", async () => {
    const refused = (await refusedUrl()).replace("http:", "https:");
    assert.equal((await measure(check(refused, "v"))).error, `GET ${refused}: connection refused`);
  });
});
