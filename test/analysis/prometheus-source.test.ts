/** The Prometheus metric source against a real Prometheus scraping a tiny exporter on 127.0.0.1. */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PrometheusSource } from "../../src/analysis/prometheus-source.ts";
import { type CheckConfig, checkSchema } from "../../src/config/schema.ts";
import type { Measurement } from "../../src/domain/analysis.ts";
import { type Backend, type Handler, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { type RawUpstream, refusedUrl, startRawUpstream } from "../support/raw-upstream.ts";

const EXPOSITION = `# TYPE teal_test_error_ratio gauge
teal_test_error_ratio{color="green",service="web"} 0.2
teal_test_error_ratio{color="blue",service="web"} 0.05
`;

const context = {
  service: "web",
  color: "green",
  stableColor: "blue",
  version: "v2",
  windowMs: 60_000,
} as const;

const check = (address: string, query: string): CheckConfig =>
  checkSchema.parse({ name: "prom", prometheus: { address, query }, max: 1 });

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serve(handler: Handler): Promise<Backend> {
  const backend = await startBackend("prometheus-double", handler);
  cleanups.push(() => backend.close());
  return backend;
}

/**
 * Prometheus, started once for the suite by whichever test comes first. Not a before() hook: a
 * failing hook only cancels the tests, and a missing Prometheus must count as failures.
 */
let started: Promise<string> | undefined;
function prometheusReady(): Promise<string> {
  started ??= (async () => {
    const exporter = await serve((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(EXPOSITION);
    });
    const prometheus = await startPrometheus(`127.0.0.1:${exporter.port}`);
    cleanups.push(prometheus.stop);
    const url = prometheus.url;
    await eventually(
      async () => (await measureAt(url, 'teal_test_error_ratio{color="green"}')).value !== null,
      "Prometheus to scrape the exporter",
    );
    return url;
  })();
  return started;
}

const measureAt = (address: string, query: string, overrides: object = {}): Promise<Measurement> =>
  new PrometheusSource().measure(check(address, query), { ...context, ...overrides });

describe("Prometheus metric source", { timeout: 15_000 }, () => {
  const measure = async (query: string, overrides: object = {}): Promise<Measurement> =>
    measureAt(await prometheusReady(), query, overrides);

  it("reads the first sample of the query, with service and colors filled in", async () => {
    const q = 'teal_test_error_ratio{service="{{service}}",color="{{color}}"}';
    assert.deepEqual(await measure(q), { value: 0.2, sampleSize: null });
    const stable = 'teal_test_error_ratio{service="{{service}}",color="{{stableColor}}"}';
    assert.deepEqual(await measure(stable), { value: 0.05, sampleSize: null });
  });

  it("reads a scalar result", async () => {
    assert.deepEqual(await measure("scalar(sum(teal_test_error_ratio)) * 2"), {
      value: 0.5,
      sampleSize: null,
    });
  });

  it("fills {{window}} as a Prometheus duration that range selectors accept", async () => {
    const q = 'count_over_time(teal_test_error_ratio{color="{{color}}"}[{{window}}])';
    const minute = await measure(q);
    assert.equal(minute.error, undefined);
    assert.ok((minute.value ?? 0) >= 1, `expected at least one sample, got ${minute.value}`);
    const odd = await measure(q, { windowMs: 1_500 });
    assert.equal(odd.error, undefined);
  });

  it("answers no value and no error when the query matches nothing", async () => {
    assert.deepEqual(await measure('teal_test_error_ratio{color="purple"}'), {
      value: null,
      sampleSize: null,
    });
  });

  it("reports Prometheus's own message for a query that does not parse", async () => {
    const bad = await measure("sum(teal_test_error_ratio");
    assert.equal(bad.value, null);
    assert.match(bad.error ?? "", /^Prometheus bad_data: .*parse error/);
  });

  it("reports NaN, and a range vector, as errors", async () => {
    assert.deepEqual(await measure("0/0"), { value: null, sampleSize: null, error: "query returned NaN" });
    const range = await measure("teal_test_error_ratio[1m]");
    assert.match(range.error ?? "", /returned a matrix/);
  });

  it("refuses an unknown placeholder instead of sending it", async () => {
    const typo = await measure('teal_test_error_ratio{color="{{colour}}"}');
    assert.match(typo.error ?? "", /unknown placeholder \{\{colour\}\} .* in the Prometheus query/);
  });
});

describe("Prometheus metric source without a real Prometheus", () => {
  it("sends the filled, encoded query as an instant query", async () => {
    const answer = JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } });
    const double = await serve((req, res) => {
      req.resume();
      res.end(answer);
    });
    const q = 'sum(rate(http_errors{service="{{service}}",version="{{version}}"}[{{window}}]))';
    await new PrometheusSource().measure(check(`${double.url}/`, q), context);
    const sent = new URL(double.seen[0]?.url ?? "", double.url);
    assert.equal(sent.pathname, "/api/v1/query");
    assert.equal(sent.searchParams.get("query"), 'sum(rate(http_errors{service="web",version="v2"}[60s]))');
  });

  it("says the address is unreachable when nothing listens there", async () => {
    const address = await refusedUrl();
    const m = await new PrometheusSource().measure(check(address, "up"), context);
    assert.deepEqual(m, {
      value: null,
      sampleSize: null,
      error: `Prometheus at ${address}: connection refused`,
    });
  });

  it("names the HTTP status of an answer that is not Prometheus JSON", async () => {
    const gateway = await serve((req, res) => {
      req.resume();
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<h1>Bad Gateway</h1>");
    });
    const m = await new PrometheusSource().measure(check(gateway.url, "up"), context);
    assert.equal(m.error, `Prometheus at ${gateway.url} answered HTTP 502 without a JSON body`);
  });

  it("times out after fetchTimeoutMs, and stops when the signal fires", async () => {
    const silent: RawUpstream = await startRawUpstream();
    cleanups.push(() => silent.close());
    const quick = new PrometheusSource({ fetchTimeoutMs: 100 });
    const timedOut = await quick.measure(check(silent.url, "up"), context);
    assert.equal(timedOut.error, `Prometheus at ${silent.url}: timed out after 100 ms`);

    const controller = new AbortController();
    const pending = new PrometheusSource().measure(check(silent.url, "up"), {
      ...context,
      signal: controller.signal,
    });
    controller.abort();
    assert.equal((await pending).error, `Prometheus at ${silent.url}: aborted`);
  });
});
