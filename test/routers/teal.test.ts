import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { service } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { api } from "../support/teal-process.ts";
import { deploymentCases, served } from "./deployment-cases.ts";

describe("teal's own proxy as the router (router: teal), through the same cases as nginx and HAProxy", () => {
  const ctx = deploymentCases(
    "teal",
    async () => ({
      url: undefined,
      routerYaml: "teal",
      override: "{ header: x-teal-color }",
      stop: async () => {},
    }),
    {
      blueGreenErrors: (errors, requests, diag) => {
        diag(`blue-green through teal's proxy: ${errors} client errors in ${requests} requests`);
        assert.equal(errors, 0);
      },
    },
  );

  it("routes the override header to the color it names", async () => {
    const live = (await served(ctx.viaRouter())).color;
    const other = live === "blue" ? "green" : "blue";
    const res = await fetch(`${ctx.viaRouter().proxyUrl}/`, { headers: { "x-teal-color": other } });
    assert.equal(((await res.json()) as { color: string }).color, other);
  });

  it("pauses where nginx and HAProxy refuse to: holds a request, answers it on resume", async () => {
    const paused = await api(ctx.teal(), "POST", "/v1/services/web/pause");
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((await service(ctx.teal())).routing.paused, true);
    const held = fetch(`${ctx.viaRouter().proxyUrl}/`);
    await eventually(async () => (await service(ctx.teal())).held === 1, "the request to be held");
    const resumed = await api(ctx.teal(), "POST", "/v1/services/web/resume");
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    const res = await held;
    assert.equal(res.status, 200);
    assert.equal((await service(ctx.teal())).routing.paused, false);
  });
});
