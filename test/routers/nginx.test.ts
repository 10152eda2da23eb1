import assert from "node:assert/strict";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { service } from "../support/deployments.ts";
import { startNginx } from "../support/routers.ts";
import { api } from "../support/teal-process.ts";
import { deploymentCases, served } from "./deployment-cases.ts";

describe("teal driving nginx by rendering, testing and reloading its config", () => {
  let files: { mainConfig: string; configFile: string };
  const ctx = deploymentCases(
    "nginx",
    async (dir) => {
      const nginx = await startNginx(dir);
      files = nginx;
      return {
        url: `http://127.0.0.1:${nginx.port}`,
        routerYaml: `{ type: nginx, configFile: ${nginx.configFile}, mainConfig: ${nginx.mainConfig}, listen: 127.0.0.1:${nginx.port} }`,
        override: "{ header: x-teal-color }",
        stop: () => nginx.stop(),
      };
    },
    {
      // A reload closes the old workers' idle keep-alive connections: a request racing that close
      // fails. This is measured and reported, not asserted to be 0 (see the README).
      blueGreenErrors: (errors, requests, diag) =>
        diag(
          `blue-green through nginx: ${errors} client errors in ${requests} requests (reloads under keep-alive load)`,
        ),
    },
  );

  it("routes the override header (canary = the color that is not live) for allowed addresses", async () => {
    const live = (await served(ctx.viaRouter())).color;
    const res = await fetch(`${ctx.router().url}/`, { headers: { "x-teal-color": "canary" } });
    assert.notEqual(((await res.json()) as { color: string }).color, live);
  });

  it("never lets a render that nginx -t refuses reach the running nginx, and keeps teal's routing as it was", async () => {
    const before = await service(ctx.teal());
    const live = (await served(ctx.viaRouter())).version;
    const file = await readFile(files.configFile, "utf8");
    const main = await readFile(files.mainConfig, "utf8");
    // The user breaks their nginx config: any new render fails nginx -t (duplicate log_format).
    await appendFile(files.mainConfig, "http { }\n");
    try {
      const r = await api(ctx.teal(), "POST", "/v1/services/web/switch", {});
      assert.equal(r.status, 502, JSON.stringify(r.body));
      assert.equal(r.body.error.code, "ROUTER_FAILED");
      assert.match(
        r.body.error.message,
        /nginx -t refused the new configuration; the running nginx is unchanged: .*"http" directive is duplicate/,
      );
      assert.equal(await readFile(files.configFile, "utf8"), file, "teal's file on disk is untouched");
      assert.equal((await served(ctx.viaRouter())).version, live, "traffic did not move");
      const after = await service(ctx.teal());
      assert.deepEqual(after.routing, before.routing, "teal's stored routing is what still serves");
    } finally {
      await writeFile(files.mainConfig, main);
    }
    const retry = await api(ctx.teal(), "POST", "/v1/services/web/switch", {});
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.notEqual((await served(ctx.viaRouter())).version, live);
  });

  it("refuses to pause (nginx cannot hold requests)", async () => {
    const r = await api(ctx.teal(), "POST", "/v1/services/web/pause");
    assert.equal(r.status, 422);
    assert.match(r.body.error.message, /routed by nginx, which cannot hold requests/);
    assert.equal((await service(ctx.teal())).routing.paused, false);
  });
});
