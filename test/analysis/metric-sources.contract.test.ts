/**
 * Runs the metric source contract against every adapter: teal's own proxy stats (a real data
 * plane with real traffic), a real Prometheus scraping a tiny exporter, and a web metric endpoint.
 */

import { PrometheusSource } from "../../src/analysis/prometheus-source.ts";
import { ProxySource } from "../../src/analysis/proxy-source.ts";
import { WebSource } from "../../src/analysis/web-source.ts";
import { checkSchema } from "../../src/config/schema.ts";
import { systemClock } from "../../src/domain/clock.ts";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { CONTEXT, runMetricSourceContract } from "../contracts/metric-source.cases.ts";
import { type Backend, type Handler, startBackend } from "../support/backends.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { refusedUrl, startRawUpstream } from "../support/raw-upstream.ts";

/** Everything a harness started, closed in reverse order. */
function closer() {
  const closes: (() => Promise<unknown>)[] = [];
  return {
    add<T extends { close(): Promise<unknown> }>(thing: T): T {
      closes.push(() => thing.close());
      return thing;
    },
    async closeAll() {
      for (const close of closes.reverse()) await close();
    },
  };
}

const json =
  (body: unknown): Handler =>
  (req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

runMetricSourceContract("proxy", async () => {
  const started = closer();
  let served = 0;
  // Green answers 500 to every fourth request: an error rate of 0.25.
  const green = started.add(
    await startBackend("green", (req, res) => {
      req.resume();
      res.writeHead(++served % 4 === 0 ? 500 : 200).end("green");
    }),
  );
  const blue = started.add(await startBackend("blue"));
  const endpoints = { blue: [blue.url], green: [green.url] };
  // The data plane behind the status port the composition root hands the proxy source (workers: 1).
  const plane = started.add(new LocalDataPlane(testSettings));
  await plane.apply({
    generation: 1,
    services: [
      serviceSpec("web", endpoints, { routes: [{ host: "web.test", path: "/", stripPrefix: false }] }),
      serviceSpec("idle", endpoints, { routes: [{ host: "idle.test", path: "/", stripPrefix: false }] }),
    ],
  });
  const url = `http://${await plane.listen()}`;
  for (let i = 0; i < 8; i++) await get(`${url}/`, { host: "web.test", "x-teal-color": "green" });
  const errors = checkSchema.parse({ name: "errors", metric: "errorRate", max: 0.5 });
  const status = () => plane.status();
  /** The data plane's status port as the cluster's answers when a worker does not reply in time. */
  const unanswered = (afterMs: number) => () =>
    new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error('proxy worker 4242 did not answer "status"')), afterMs),
    );
  return {
    harness: {
      valued: async () => ({
        source: new ProxySource(status, systemClock),
        check: errors,
        context: CONTEXT,
        value: 0.25,
      }),
      empty: async () => ({
        source: new ProxySource(status, systemClock),
        check: errors,
        context: { ...CONTEXT, service: "idle" },
      }),
      down: async () => ({
        source: new ProxySource(unanswered(0), systemClock),
        check: errors,
        context: CONTEXT,
        error: /^no proxy status for web$/,
      }),
      // The proxy source has no timer of its own: its bound is the status port's (the cluster
      // data plane's reply timeout; the in-process one answers synchronously).
      stalled: async () => ({
        source: new ProxySource(unanswered(300), systemClock),
        check: errors,
        context: CONTEXT,
        timeoutMs: 300,
        error: /^no proxy status for web$/,
      }),
    },
    tearDown: () => started.closeAll(),
  };
});

runMetricSourceContract("prometheus", async () => {
  const started = closer();
  const exporter = started.add(
    await startBackend("exporter", (req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(
        '# TYPE teal_test_error_ratio gauge\nteal_test_error_ratio{color="green",service="web"} 0.2\nteal_test_error_ratio{color="blue",service="web"} 0.05\n',
      );
    }),
  );
  const prometheus = await startPrometheus(`127.0.0.1:${exporter.port}`);
  const stopPrometheus = { close: () => prometheus.stop() };
  started.add(stopPrometheus);
  const silent = started.add(await startRawUpstream());
  const check = (address: string, query: string) =>
    checkSchema.parse({ name: "prom", prometheus: { address, query }, max: 1 });
  const ratio = 'teal_test_error_ratio{service="{{service}}",color="{{color}}"}';
  await eventually(
    async () => (await new PrometheusSource().measure(check(prometheus.url, ratio), CONTEXT)).value !== null,
    "Prometheus to scrape the exporter",
  );
  const refused = await refusedUrl();
  return {
    harness: {
      valued: async () => ({
        source: new PrometheusSource(),
        check: check(prometheus.url, ratio),
        context: CONTEXT,
        value: 0.2,
      }),
      empty: async () => ({
        source: new PrometheusSource(),
        check: check(prometheus.url, 'teal_test_error_ratio{color="purple"}'),
        context: CONTEXT,
      }),
      down: async () => ({
        source: new PrometheusSource(),
        check: check(refused, "up"),
        context: CONTEXT,
        error: new RegExp(`^Prometheus at ${refused}: connection refused$`),
      }),
      stalled: async () => ({
        source: new PrometheusSource({ fetchTimeoutMs: 300 }),
        check: check(silent.url, "up"),
        context: CONTEXT,
        timeoutMs: 300,
        error: new RegExp(`^Prometheus at ${silent.url}: timed out after 300 ms$`),
      }),
    },
    tearDown: () => started.closeAll(),
  };
});

runMetricSourceContract("web", async () => {
  const started = closer();
  const metrics: Backend = started.add(await startBackend("metrics", json({ data: { errorRate: 0.02 } })));
  const empty: Backend = started.add(await startBackend("empty", json({ data: {} })));
  const silent = started.add(await startRawUpstream());
  const refused = await refusedUrl();
  const check = (url: string, timeoutMs?: number) =>
    checkSchema.parse({
      name: "web",
      web: { url, jsonPath: "data.errorRate", ...(timeoutMs && { timeoutMs }) },
      max: 1,
    });
  return {
    harness: {
      valued: async () => ({
        source: new WebSource(),
        check: check(metrics.url),
        context: CONTEXT,
        value: 0.02,
      }),
      // A web endpoint's JSON without the field is an error, not an inconclusive measurement.
      empty: async () => ({
        source: new WebSource(),
        check: check(empty.url),
        context: CONTEXT,
        error: new RegExp(`^no "data.errorRate" in the JSON from ${empty.url}$`),
      }),
      down: async () => ({
        source: new WebSource(),
        check: check(refused),
        context: CONTEXT,
        error: new RegExp(`^GET ${refused}: connection refused$`),
      }),
      stalled: async () => ({
        source: new WebSource(),
        check: check(silent.url, 300),
        context: CONTEXT,
        timeoutMs: 300,
        error: new RegExp(`^GET ${silent.url}: timed out after 300 ms$`),
      }),
    },
    tearDown: () => started.closeAll(),
  };
});
