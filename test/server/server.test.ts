import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "undici";
import { type Backend, startBackend } from "../support/backends.ts";
import { get, load } from "../support/http.ts";
import { api, type Json, startTeal, tempDir, webServiceConfig } from "../support/teal-process.ts";

const configFor = (blue: Backend, green: Backend, workers: number) =>
  webServiceConfig(blue, green, { workers });

describe("teal server", () => {
  it("keeps the last routing across kill -9 and serves it from the first request", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const first = await startTeal(configFor(blue, green, 1), dir.path);
    const r = await api(first, "POST", "/v1/services/web/split", { greenPercent: 100 });
    assert.equal(r.status, 200);
    await first.kill9();
    const second = await startTeal(configFor(blue, green, 1), dir.path);
    assert.equal((await get(`${second.proxyUrl}/`)).body, "green");
    const status = await api(second, "GET", "/v1/status");
    assert.equal(status.body.services[0].routing.greenPercent, 100);
    await second.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
  });

  it("with two proxy workers, loses no request through 20 API switches under load, each in force when the call returns", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const teal = await startTeal(configFor(blue, green, 2), dir.path);
    const probe = new Client(teal.proxyUrl);
    let switching = true;
    const background = load(`${teal.proxyUrl}/`, { total: 200_000, connections: 16, stop: () => !switching });
    let visible = 0;
    for (let i = 0; i < 20; i++) {
      const to = i % 2 === 0 ? "green" : "blue";
      const r = await api(teal, "POST", "/v1/services/web/switch", { to });
      assert.equal(r.status, 200);
      // Every worker acknowledged before the API answered: a fresh request sees the new color.
      const res = await probe.request({ path: "/", method: "GET", reset: true });
      if ((await res.body.text()) === to) visible++;
    }
    switching = false;
    const result = await background;
    await probe.close();
    const status = await api(teal, "GET", "/v1/status");
    await teal.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
    assert.equal(visible, 20);
    assert.equal(result.non2xx, 0);
    assert.equal(result.errors, 0);
    assert.ok(result.ok > 100, `only ${result.ok} requests ran during the switches`);
    const traffic = status.body.services[0].traffic;
    assert.equal(traffic.blue.byClass["5xx"] + traffic.green.byClass["5xx"], 0);
    assert.ok(traffic.blue.requests > 0 && traffic.green.requests > 0);
  });

  it("guards the admin API with the token, serves health, OpenAPI and Prometheus metrics", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const teal = await startTeal(configFor(blue, green, 1), dir.path);
    await get(`${teal.proxyUrl}/`);
    assert.equal((await fetch(`${teal.adminUrl}/v1/health`)).status, 200);
    const denied = await fetch(`${teal.adminUrl}/v1/status`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as Json).error.code, "UNAUTHORIZED");
    assert.equal((await fetch(`${teal.adminUrl}/metrics`)).status, 401);
    const metrics = await fetch(`${teal.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${teal.token}` },
    });
    const text = await metrics.text();
    assert.match(text, /teal_requests_total\{service="web",color="blue",code="2xx"\} 1/);
    assert.match(text, /teal_request_duration_seconds_bucket\{service="web",color="blue",le="\+Inf"\} 1/);
    assert.match(text, /teal_live_color\{service="web",color="blue"\} 1/);
    const openapi = await api(teal, "GET", "/v1/openapi.json");
    assert.ok(openapi.body.paths["/v1/services/{name}/switch"]);
    const badJson = await api(teal, "POST", "/v1/services/web/split", "{nope");
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error.code, "INVALID_REQUEST");
    const badField = await api(teal, "POST", "/v1/services/web/switch", {
      to: "purple",
    });
    assert.equal(badField.status, 400);
    assert.match(badField.body.error.message, /^to: must be "blue" or "green"/);
    const unknown = await api(teal, "POST", "/v1/services/nope/pause");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "SERVICE_NOT_FOUND");
    assert.ok(!JSON.stringify(teal.logs).includes(teal.token), "the token never appears in the logs");
    await teal.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
  });

  it("refuses to send traffic to a color without endpoints", async () => {
    const blue = await startBackend("blue");
    const dir = await tempDir();
    const teal = await startTeal(
      `
proxy: { listen: "127.0.0.1:0", workers: 1 }
admin: { listen: "127.0.0.1:0" }
services:
  web:
    routes: [{ path: / }]
    blue: [${blue.url}]
`,
      dir.path,
    );
    const r = await api(teal, "POST", "/v1/services/web/switch", { to: "green" });
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /has no green endpoints/);
    assert.equal((await get(`${teal.proxyUrl}/`)).body, "blue");
    await teal.stop();
    await Promise.all([blue.close(), dir.remove()]);
  });
});
