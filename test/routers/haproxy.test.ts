import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startBackend } from "../support/backends.ts";
import { service } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { startHaproxy } from "../support/routers.ts";
import { api, startTeal, tempDir, webServiceConfig } from "../support/teal-process.ts";
import { deploymentCases, served } from "./deployment-cases.ts";

describe("teal driving HAProxy through its runtime API", () => {
  let port = 0;
  const ctx = deploymentCases(
    "haproxy",
    async (dir) => {
      let haproxy = await startHaproxy(dir);
      port = haproxy.port;
      return {
        url: `http://127.0.0.1:${haproxy.port}`,
        routerYaml: `{ type: haproxy, socket: ${haproxy.socket}, backend: web, stateFile: ${haproxy.stateFile}, overrideBackends: { blue: web_blue, green: web_green }, reconcileIntervalMs: 100 }`,
        override: "{ header: x-teal-color }",
        stop: () => haproxy.stop(),
        restart: async () => {
          await haproxy.stop();
          haproxy = await startHaproxy(dir, port);
        },
        reload: () => haproxy.reload(),
      } as never;
    },
    {
      blueGreenErrors: (errors, requests, diag) => {
        diag(`blue-green through HAProxy: ${errors} client errors in ${requests} requests`);
        assert.equal(errors, 0);
      },
    },
  );

  it("routes the override header to the color it names, through the one-color backends", async () => {
    const url = ctx.router().url;
    const live = (await served(ctx.viaRouter())).color;
    const other = live === "blue" ? "green" : "blue";
    const res = await fetch(`${url}/`, { headers: { "x-teal-color": other } });
    assert.equal(((await res.json()) as { color: string }).color, other);
  });

  it("refuses to pause (HAProxy cannot hold requests) and keeps the routing as it was", async () => {
    const r = await api(ctx.teal(), "POST", "/v1/services/web/pause");
    assert.equal(r.status, 422);
    assert.match(r.body.error.message, /routed by haproxy, which cannot hold requests/);
    assert.equal((await service(ctx.teal())).routing.paused, false);
    assert.equal((await fetch(`${ctx.router().url}/`)).status, 200);
  });

  // The state file restores the slots as the new HAProxy starts: its first request already gets
  // the live version; then a switch reaches it.
  for (const change of ["reload", "restart"] as const) {
    const how = change === "reload" ? "SIGUSR2 to the master, a new worker" : "stop, then start";
    it(`keeps the live routing across an HAProxy ${change} (${how}, the server-state file)`, async () => {
      const live = (await served(ctx.viaRouter())).version;
      await (ctx.router() as unknown as Record<typeof change, () => Promise<void>>)[change]();
      assert.equal((await served(ctx.viaRouter())).version, live);
      const flip = await api(ctx.teal(), "POST", "/v1/services/web/switch", {});
      assert.equal(flip.status, 200, JSON.stringify(flip.body));
      await eventually(
        async () => (await served(ctx.viaRouter())).version !== live,
        `the switch to reach HAProxy after its ${change}`,
      );
    });
  }
});

describe("teal driving an HAProxy that has no server-state file", () => {
  it("re-applies the live routing after an HAProxy reload, within its reconcile interval", async (t) => {
    const [blue, green] = [await startBackend("blue"), await startBackend("green")];
    const dir = await tempDir();
    const haproxy = await startHaproxy(dir.path);
    const router = `    override: false
    router: { type: haproxy, socket: ${haproxy.socket}, backend: web, reconcileIntervalMs: 100 }`;
    const teal = await startTeal(webServiceConfig(blue, green, { service: router }), dir.path).catch(
      async (err: unknown) => {
        await haproxy.stop();
        await Promise.all([blue.close(), green.close(), dir.remove()]);
        throw err;
      },
    );
    const viaHaproxy = async () => {
      const res = await fetch(`http://127.0.0.1:${haproxy.port}/`, { headers: { connection: "close" } });
      return { status: res.status, body: await res.text() };
    };
    try {
      assert.equal((await api(teal, "POST", "/v1/services/web/switch", { to: "green" })).status, 200);
      assert.deepEqual(await viaHaproxy(), { status: 200, body: "green" });
      await haproxy.reload();
      const reloadedAt = Date.now();
      // The new worker starts from haproxy.cfg (every slot disabled): 503 until teal re-applies.
      await eventually(async () => (await viaHaproxy()).body === "green", "teal to re-apply the slots");
      t.diagnostic(`green served again ${Date.now() - reloadedAt} ms after the reload`);
      await eventually(
        () => teal.logs.some((e) => String(e.msg).includes("haproxy for web restarted or was unreachable")),
        "teal to log that it re-applied the routing to the new worker",
      );
      assert.equal((await service(teal)).routing.live, "green");
    } finally {
      await teal.stop();
      await haproxy.stop();
      await Promise.all([blue.close(), green.close(), dir.remove()]);
    }
  });
});
