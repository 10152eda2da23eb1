import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort } from "../../src/runtime/process/free-port.ts";
import { eventually } from "../support/eventually.ts";
import { type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";
import { api, type Json, processServiceConfig } from "../support/teal-process.ts";
import { useTeal } from "../support/use-teal.ts";

// The 5xx share of the new color, from teal's own /metrics as scraped by Prometheus; no
// requests yet gives an empty result (NaN filtered out), which is inconclusive, not an error.
const QUERY =
  '(sum(increase(teal_requests_total{service="{{service}}",color="{{color}}",code="5xx"}[{{window}}]))' +
  ' / sum(increase(teal_requests_total{service="{{service}}",color="{{color}}"}[{{window}}]))) >= 0';

describe("a Prometheus-backed analysis check", () => {
  let adminPort: number;
  let prometheus: RunningPrometheus;
  before(async () => {
    adminPort = await freePort();
    prometheus = await startPrometheus(`127.0.0.1:${adminPort}`);
  });
  after(() => prometheus?.stop());
  const teal = useTeal(() =>
    processServiceConfig(`    deployment: { scaleDownDelayMs: 60000 }
    strategy:
      canary:
        steps: [{ setWeight: 50 }, { pause: { duration: 60s } }]
    analysis:
      window: 5s
      checks:
        - name: prom-errors
          prometheus: { address: "${prometheus.url}", query: '${QUERY}' }
          max: 0.05
          interval: 500ms
          consecutiveErrorLimit: 10`)
      .replace("listen: 127.0.0.1:0\n  workers", "listen: 127.0.0.1:0\n  workers")
      .replace(
        /admin:\n {2}listen: 127\.0\.0\.1:0/,
        `admin:\n  listen: 127.0.0.1:${adminPort}\n  publicMetrics: true`,
      ),
  );

  it("rolls back a canary when a real Prometheus reports its error rate over the limit", async () => {
    assert.equal((await teal.cli("deploy", "web", "--version", "v1")).code, 0);
    const { result: d } = await teal.underLoad(async () => {
      const seq = (
        await api(teal, "POST", "/v1/services/web/deployments", {
          version: "v2",
          env: { APP_ERROR_EVERY: "5" },
        })
      ).body.deployment.seq;
      return eventually(
        async () => {
          const x = (
            (await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[]
          ).find((h) => h.seq === seq);
          return x && x.outcome !== "running" && x;
        },
        "the Prometheus check to roll the canary back",
        30_000,
      );
    }, 4);
    assert.equal(d.outcome, "rolled_back");
    assert.match(d.reason, /^analysis "prom-errors" failed: prometheus 0\.\d+ > max 0\.05$/);
    const s = (await api(teal, "GET", "/v1/services/web")).body;
    assert.equal(s.routing.live, "blue");
    assert.equal(s.weights.green, 0);
  });
});
