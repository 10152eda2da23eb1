import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig } from "../support/teal-process.ts";
import { useTeal } from "../support/use-teal.ts";

/** A local receiver that records every JSON body posted to it, by path. */
async function receiver(): Promise<Backend & { got: { path: string; body: Json }[] }> {
  const got: { path: string; body: Json }[] = [];
  const backend = await startBackend("receiver", (req, res) => {
    let text = "";
    req.on("data", (d) => {
      text += d;
    });
    req.on("end", () => {
      const body = (text ? JSON.parse(text) : {}) as Json;
      got.push({ path: req.url ?? "", body });
      // The afterTraffic hook refuses one version, to prove a failing hook after traffic rolls back.
      res.writeHead(req.url === "/after" && body.version === "v-refused" ? 500 : 200).end("ok");
    });
  });
  return Object.assign(backend, { got });
}

describe("lifecycle hooks and webhooks", () => {
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let webhooks: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    hooks = await receiver();
    webhooks = await receiver();
  });
  const teal = useTeal(
    (dataDir) => {
      const marker = join(dataDir, "before-traffic.txt");
      return processServiceConfig(`    deployment: { scaleDownDelayMs: 60000 }
    strategy:
      canary:
        steps: [{ setWeight: 50 }, { pause: { duration: 1500ms } }]
    analysis:
      window: 2s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 200ms, minRequests: 20 }
    hooks:
      beforeTraffic:
        - command: 'test "$TEAL_VERSION" != v3 && echo "$TEAL_HOOK $TEAL_VERSION $TEAL_COLOR $TEAL_URL" >> ${marker}'
          timeoutMs: 5000
      afterTraffic:
        - http: { url: "${hooks.url}/after" }
      onPromote:
        - http: { url: "${hooks.url}/promote" }
      onRollback:
        - http: { url: "${hooks.url}/rollback" }
    notifications:
      webhooks:
        - { url: "${webhooks.url}/json" }
        - { url: "${webhooks.url}/slack", format: slack, events: [deployment.rolled_back] }`);
    },
    { firstVersion: "v1" },
  );
  const { cli } = teal;
  after(async () => {
    await Promise.all([hooks.close(), webhooks.close()]);
  });

  it("runs every hook at its point of a good deployment and notifies each step", async () => {
    const { result: r } = await teal.underLoad(() => cli("deploy", "web", "--version", "v2"), 4);
    assert.equal(r.code, 0, r.stdout);
    const marker = await readFile(join(teal.dataDir, "before-traffic.txt"), "utf8");
    assert.match(marker, /^beforeTraffic v2 green http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(r.stdout, /hook\s+beforeTraffic passed/);
    const after = hooks.got.find((g) => g.path === "/after")!;
    assert.deepEqual(
      { hook: after.body.hook, version: after.body.version, color: after.body.color },
      { hook: "afterTraffic", version: "v2", color: "green" },
    );
    assert.ok(hooks.got.some((g) => g.path === "/promote"));
    const events = await eventually(() => {
      const e = webhooks.got
        .filter((g) => g.path === "/json" && g.body.deployment === 2)
        .map((g) => g.body.event);
      return e.includes("deployment.succeeded") && e;
    }, "the webhooks of deployment #2");
    assert.deepEqual(events, [
      "deployment.started",
      "step.reached",
      "step.reached",
      "deployment.promoted",
      "deployment.succeeded",
    ]);
  });

  it("a failing beforeTraffic hook stops the deployment before any traffic", async () => {
    const r = await cli("deploy", "web", "--version", "v3");
    assert.equal(r.code, 1);
    assert.match(r.stdout, /beforeTraffic hook ".*" failed: exit code 1/);
    const s = (await api(teal, "GET", "/v1/services/web")).body;
    assert.equal(s.routing.live, "green");
    assert.equal(s.weights.blue, 0);
  });

  it("a rolled-back deployment runs onRollback and posts Slack-style and JSON webhooks", async () => {
    const { result: r } = await teal.underLoad(() =>
      cli("deploy", "web", "--version", "v4", "--env", "APP_ERROR_EVERY=3"),
    );
    assert.equal(r.code, 1, r.stdout);
    assert.ok(hooks.got.some((g) => g.path === "/rollback" && g.body.version === "v4"));
    const slack = await eventually(() => webhooks.got.find((g) => g.path === "/slack"), "the Slack message");
    assert.match(slack.body.text, /web #\d+ v4 .*rolled back.*errorRate/);
    const json = await eventually(() => {
      const e = webhooks.got
        .filter((g) => g.path === "/json" && g.body.version === "v4")
        .map((g) => g.body.event);
      return e.includes("deployment.rolled_back") && e;
    }, "the JSON webhooks of v4");
    assert.ok(json.includes("analysis.failed"));
  });

  it("a failing afterTraffic hook rolls the deployment back", async () => {
    const r = await cli("deploy", "web", "--version", "v-refused");
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      /afterTraffic hook "POST http:\/\/127\.0\.0\.1:\d+\/after" failed: status 500; all traffic back on green v2/,
    );
    const s = (await api(teal, "GET", "/v1/services/web")).body;
    assert.equal(s.routing.live, "green");
    assert.equal(s.weights.blue, 0);
  });
});
