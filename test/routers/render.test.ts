import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { parseConfigText } from "../../src/config/load.ts";
import { RoutingController } from "../../src/control/routing-controller.ts";
import { RoutingRepository } from "../../src/control/routing-repository.ts";
import { isTealError } from "../../src/domain/errors.ts";
import { INITIAL_ROUTING } from "../../src/domain/routing.ts";
import { createRouters } from "../../src/routers/create-routers.ts";
import { planColorBackend, planMainBackend, slotCommands } from "../../src/routers/haproxy/slot-plan.ts";
import { NginxRouter } from "../../src/routers/nginx/nginx-router.ts";
import { nginxId, renderService } from "../../src/routers/nginx/render.ts";
import { RoutedDataPlane } from "../../src/routers/routed-data-plane.ts";
import { OwnProxy } from "../../src/routers/teal/own-proxy.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { NO_LISTENER_STATS } from "../../src/traffic/listener-stats.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";

const settings = { listen: "127.0.0.1:8081", accessLog: "/tmp/teal-web.access.log", upstreamKeepalive: 8 };

function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: "web",
    routes: [{ path: "/", stripPrefix: false }],
    endpoints: { blue: ["http://127.0.0.1:9001"], green: ["http://127.0.0.1:9002"] },
    routing: INITIAL_ROUTING,
    drainTimeoutMs: 1_000,
    pauseTimeoutMs: 1_000,
    override: { header: "x-teal-color", allowFrom: ["127.0.0.0/8", "::1/128"] },
    sticky: undefined,
    allowlist: [],
    ...overrides,
  };
}

describe("nginx render", () => {
  it("regex-escapes the route prefix it strips", () => {
    const text = renderService(spec({ routes: [{ path: "/v1.2/", stripPrefix: true }] }), 1, settings);
    assert.match(text, /rewrite "\^\/v1\\\.2\/\?\(\.\*\)\$" \/\$1 break;/);
    assert.match(text, /location = \/v1\.2 \{/);
  });

  it("refuses to render a path, host or endpoint that would be nginx syntax (backstop to the schema)", () => {
    const injected = "/beta { proxy_pass http://teal_web_green; } location /beta-x";
    assert.throws(
      () => renderService(spec({ routes: [{ path: injected, stripPrefix: false }] }), 1, settings),
      /refusing to render path/,
    );
    assert.throws(
      () =>
        renderService(spec({ routes: [{ host: "a.com; x", path: "/", stripPrefix: false }] }), 1, settings),
      /refusing to render host/,
    );
    assert.throws(
      () => renderService(spec({ endpoints: { blue: ["http://a;b:9001"], green: [] } }), 1, settings),
      /refusing to render endpoint/,
    );
    assert.throws(
      () => renderService(spec(), 1, { ...settings, accessLog: "/tmp/a$b.log" }),
      /refusing to render file/,
    );
  });

  it("quotes the access log path", () => {
    assert.match(renderService(spec(), 1, settings), /access_log "\/tmp\/teal-web\.access\.log" teal_web;/);
  });

  it("reads the sticky cookie by its exact name and headers with - as _", () => {
    const cookie = renderService(spec({ sticky: { cookie: "my_Session", setCookie: false } }), 1, settings);
    assert.match(cookie, /map \$cookie_my_Session \$teal_web_key/);
    const header = renderService(spec({ sticky: { header: "x-user-id", setCookie: false } }), 1, settings);
    assert.match(header, /map \$http_x_user_id \$teal_web_key/);
    assert.match(header, /\$http_x_teal_color" \$teal_web_color/);
    assert.throws(
      () => renderService(spec({ sticky: { cookie: "my-session", setCookie: false } }), 1, settings),
      /refusing to render cookie/,
    );
  });

  it("gives services whose names differ only in - and _ different nginx ids", () => {
    const names = ["a-b", "a_b", "a__b", "a_d", "a-d", "ab", "a_b_blue", "a_b-blue"];
    const ids = names.map(nginxId);
    assert.equal(new Set(ids).size, names.length, JSON.stringify(ids));
    for (const id of ids) assert.match(id, /^teal_[A-Za-z0-9_]+$/);
    assert.equal(nginxId("web"), "teal_web");
    // No id plus a suffix teal appends equals another id plus a suffix.
    const suffixed = ids.flatMap((id) =>
      ["", "_blue", "_green", "_color", "_split", "_key"].map((s) => id + s),
    );
    assert.equal(new Set(suffixed).size, suffixed.length);
  });

  it("renders a config that nginx -t accepts, with an escaped strip prefix and a quoted log", async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-render-"));
    try {
      const file = join(dir, "teal-web.conf");
      await writeFile(
        file,
        renderService(
          spec({
            name: "my-web",
            routes: [
              { path: "/v1.2/", stripPrefix: true },
              { host: "*.example.com", path: "/a_b~c%20", stripPrefix: true },
            ],
            sticky: { cookie: "uid", setCookie: false },
          }),
          1,
          { ...settings, accessLog: join(dir, "access log.json") },
        ),
      );
      const main = join(dir, "nginx.conf");
      await writeFile(
        main,
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  include ${file};\n}\n`,
      );
      await promisify(execFile)("nginx", ["-t", "-q", "-p", dir, "-c", main]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("haproxy slot plan", () => {
  const slots = { blue: ["blue1", "blue2"], green: ["green1", "green2"] };

  it("keeps a small canary share close to what was asked, however many instances the canary has", () => {
    const many = Array.from({ length: 10 }, (_, i) => `http://10.0.0.${i + 10}:9002`);
    for (const greenPercent of [1, 5, 30]) {
      const targets = planMainBackend(
        "web",
        { blue: ["blue1"], green: many.map((_, i) => `green${i + 1}`) },
        spec({
          endpoints: { blue: ["http://10.0.0.5:9001"], green: many },
          routing: { ...INITIAL_ROUTING, greenPercent },
        }),
      );
      const weight = (c: string) =>
        targets.filter((t) => t.color === c && t.state === "ready").reduce((n, t) => n + (t.weight ?? 0), 0);
      const share = (100 * weight("green")) / (weight("green") + weight("blue"));
      assert.ok(
        Math.abs(share - greenPercent) <= 0.5,
        `${greenPercent}% asked, ${share.toFixed(2)}% planned`,
      );
    }
  });

  it("uses port 80 for endpoints with the default or no port", () => {
    const targets = planMainBackend(
      "web",
      slots,
      spec({ endpoints: { blue: ["http://10.0.0.5", "http://10.0.0.6:80"], green: ["http://[::1]:9002"] } }),
    );
    assert.deepEqual(
      targets.filter((t) => t.host !== undefined).map((t) => [t.name, t.host, t.port]),
      [
        ["blue1", "10.0.0.5", 80],
        ["blue2", "10.0.0.6", 80],
        ["green1", "::1", 9002],
      ],
    );
    assert.deepEqual(slotCommands(targets[0]!, undefined).slice(0, 1), [
      "set server web/blue1 addr 10.0.0.5 port 80",
    ]);
  });

  it("puts the override backends in maintenance when the service has override: false", () => {
    const on = planColorBackend("web_green", "green", slots.green, spec());
    assert.deepEqual(
      on.map((t) => t.state),
      ["ready", "maint"],
    );
    const off = planColorBackend("web_green", "green", slots.green, spec({ override: false }));
    assert.deepEqual(
      off.map((t) => t.state),
      ["maint", "maint"],
    );
    const blueOff = planColorBackend("web_blue", "blue", slots.blue, spec({ override: false }));
    assert.ok(blueOff.every((t) => t.state === "maint"));
  });
});

describe("routing controller start with an external router", () => {
  it("starts (with a warning) when the stored routing is paused but the service moved to nginx", async () => {
    const config = parseConfigText(
      "services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9001]\n    router: { type: nginx, configFile: /nonexistent/teal-web.conf, mainConfig: /nonexistent/nginx.conf, listen: 127.0.0.1:8081 }\n",
    );
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    try {
      const repository = new RoutingRepository(store);
      await repository.save("web", { ...INITIAL_ROUTING, paused: true }, 0);
      const own = {
        apply: async () => {},
        status: async () => [],
        listenerStats: async () => NO_LISTENER_STATS,
        drained: async () => undefined,
        listen: async () => "",
        close: async () => {},
      };
      const router = new NginxRouter({ service: "web", config: config.services.web!.router as never });
      const warnings: string[] = [];
      const controller = new RoutingController({
        config,
        repository,
        dataPlane: new RoutedDataPlane(new OwnProxy(own), new Map([["web", router]])),
        onWarning: (m) => warnings.push(m),
      });
      await controller.start();
      assert.equal(controller.routing("web").paused, true);
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        /routed by nginx, which cannot hold requests: resume it.*; teal starts anyway/,
      );
      // Other failures still stop the start.
      const broken = new RoutingController({
        config,
        repository,
        dataPlane: { ...own, apply: async () => Promise.reject(new Error("boom")) },
      });
      await assert.rejects(broken.start(), (err) => !isTealError(err) && /boom/.test((err as Error).message));
    } finally {
      await store.close();
    }
  });
});

describe("a router that keeps failing", () => {
  it("fails commands on its own service only; the others go on, with a warning", async () => {
    const config = parseConfigText(
      "services:\n  web:\n    routes: [{ host: web.test }]\n    blue: [http://127.0.0.1:9001]\n    green: [http://127.0.0.1:9002]\n    router: { type: nginx, configFile: /nonexistent/teal-web.conf, mainConfig: /nonexistent/nginx.conf, listen: 127.0.0.1:8081 }\n  api:\n    routes: [{ host: api.test }]\n    blue: [http://127.0.0.1:9003]\n    green: [http://127.0.0.1:9004]\n",
    );
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    try {
      const applied: string[][] = [];
      const own = {
        apply: async (spec: { services: readonly { name: string }[] }) => {
          applied.push(spec.services.map((s) => s.name));
        },
        status: async () => [],
        listenerStats: async () => NO_LISTENER_STATS,
        drained: async () => undefined,
        listen: async () => "",
        close: async () => {},
      };
      const warnings: string[] = [];
      const warn = (m: string) => warnings.push(m);
      // web on nginx, api on teal's own proxy: the composition root's routers.
      const proxy = new OwnProxy(own as never);
      const controller = new RoutingController({
        config,
        repository: new RoutingRepository(store),
        dataPlane: new RoutedDataPlane(proxy, createRouters(config, "/", warn, proxy), warn),
        onWarning: warn,
      });
      await controller.start(); // nginx is not there: a warning, teal starts
      assert.equal(warnings.length, 1);

      const change = await controller.command("api", { kind: "switch", to: "green" }, { force: true });
      assert.equal(change.after.live, "green");
      assert.equal(controller.routing("api").live, "green");
      assert.match(warnings.at(-1)!, /web's earlier change stays pending/);

      await assert.rejects(
        controller.command("web", { kind: "switch", to: "green" }, { force: true }),
        (err) => isTealError(err, "ROUTER_FAILED"),
      );
      assert.equal(controller.routing("web").live, "blue", "the failed switch left web as it was");
    } finally {
      await store.close();
    }
  });
});
