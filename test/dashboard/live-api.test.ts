import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { readSse, type SseMessage } from "../../src/cli/sse.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { load } from "../support/http.ts";
import {
  type Json,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";

describe("the dashboard's API: the view token, the live stream and the page", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let blue: Backend;
  let green: Backend;
  let view: string;
  const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(teal.adminUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Json };
  };

  before(async () => {
    dir = await tempDir();
    [blue, green] = await Promise.all([startBackend("blue"), startBackend("green")]);
    teal = await startTeal(webServiceConfig(blue, green), dir.path);
    view = (await readFile(join(dir.path, "view.token"), "utf8")).trim();
  });
  after(async () => {
    await teal.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
  });

  it("keeps a view token of its own, mode 0600, beside the admin token", async () => {
    assert.match(view, /^[\w-]{40,}$/);
    assert.notEqual(view, teal.token);
    assert.equal((await stat(join(dir.path, "view.token"))).mode & 0o777, 0o600);
  });

  it("lets the view token read status, deployments, metrics and the live stream", async () => {
    for (const path of ["/v1/status", "/v1/services/web", "/v1/services/web/deployments", "/metrics"]) {
      assert.equal((await call("GET", path, view)).status, 200, path);
    }
    const live = await fetch(`${teal.adminUrl}/v1/live`, { headers: { authorization: `Bearer ${view}` } });
    assert.equal(live.status, 200);
    assert.match(live.headers.get("content-type") ?? "", /text\/event-stream/);
    await live.body!.cancel();
  });

  it("refuses every action and the instances' logs to the view token with 403 FORBIDDEN, and nothing changes", async () => {
    for (const [path, body] of [
      ["/v1/services/web/switch", { to: "green" }],
      ["/v1/services/web/rollback", {}],
      ["/v1/services/web/maintenance", { enabled: true }],
    ] as const) {
      const r = await call("POST", path, view, body);
      assert.equal(r.status, 403, path);
      assert.equal(r.json().error.code, "FORBIDDEN");
      assert.match(r.json().error.message, /needs the admin token/);
    }
    assert.equal((await call("GET", "/v1/services/web/logs", view)).json().error.code, "FORBIDDEN");
    const s = (await call("GET", "/v1/services/web", teal.token)).json();
    assert.deepEqual(s.routing, { live: "blue", greenPercent: 0, paused: false, maintenance: false });
  });

  it("holds at most 64 live streams, answering 429 TOO_MANY_STREAMS past that, and frees a place when one closes", async () => {
    const open = () => fetch(`${teal.adminUrl}/v1/live`, { headers: { authorization: `Bearer ${view}` } });
    const streams = await Promise.all(Array.from({ length: 64 }, open));
    try {
      assert.ok(streams.every((r) => r.status === 200));
      const refused = await open();
      assert.equal(refused.status, 429);
      const body = (await refused.json()) as Json;
      assert.equal(body.error.code, "TOO_MANY_STREAMS");
      assert.match(body.error.message, /64 dashboards are watching already: close one/);
      await streams.pop()!.body!.cancel();
      const again = await eventually(async () => {
        const r = await open();
        if (r.status === 200) return r;
        await r.body?.cancel();
        return false;
      }, "a place to free up");
      streams.push(again);
    } finally {
      await Promise.all(streams.map((r) => r.body?.cancel()));
    }
    // The server notices the closed streams on its own time: the next tests wait until it has.
    await eventually(async () => {
      const some = await Promise.all(Array.from({ length: 8 }, open));
      await Promise.all(some.map((r) => r.body?.cancel()));
      return some.every((r) => r.status === 200);
    }, "the closed streams to be let go");
  });

  it("answers 401 UNAUTHORIZED without a token or with a wrong one, also on the live stream", async () => {
    for (const token of [undefined, "wrong"]) {
      for (const [method, path] of [
        ["GET", "/v1/live"],
        ["GET", "/v1/status"],
        ["POST", "/v1/services/web/rollback"],
      ]) {
        const r = await call(method!, path!, token, method === "POST" ? {} : undefined);
        assert.equal(r.status, 401, `${method} ${path} with ${token ?? "no token"}`);
        assert.equal(r.json().error.code, "UNAUTHORIZED");
      }
    }
  });

  it("streams history, status, a sample every second and a marker at a switch, from one shared sampler", async () => {
    let stop = false;
    const traffic = load(`${teal.proxyUrl}/`, { total: 1_000_000, connections: 2, stop: () => stop });
    const abort = new AbortController();
    const res = await fetch(`${teal.adminUrl}/v1/live`, {
      headers: { authorization: `Bearer ${view}` },
      signal: abort.signal,
    });
    const messages = readSse(res.body!);
    const next = async (event: string): Promise<Json> => {
      for (let m = await messages.next(); !m.done; m = await messages.next()) {
        const msg: SseMessage = m.value;
        if (msg.event === event) return JSON.parse(msg.data) as Json;
      }
      throw new Error(`stream ended before ${event}`);
    };
    try {
      const history = await next("history");
      assert.equal(history.intervalMs, 1000);
      assert.ok(Array.isArray(history.samples) && Array.isArray(history.markers));
      const status = await next("status");
      assert.equal(status.services[0].name, "web");
      assert.equal(status.services[0].traffic, undefined, "counters come as samples, not in the status");
      let sample = await next("sample");
      while (sample.services.web.blue.rps === 0) sample = await next("sample");
      const point = sample.services.web.blue;
      assert.ok(point.rps > 0, JSON.stringify(point));
      assert.equal(point.errorRate, 0);
      assert.ok(point.p50Ms > 0 && point.p99Ms >= point.p50Ms, JSON.stringify(point));
      assert.equal(sample.services.web.green.rps, 0);

      const switched = await call("POST", "/v1/services/web/switch", teal.token, { to: "green" });
      assert.equal(switched.status, 200);
      const marker = await next("marker");
      assert.deepEqual(
        { service: marker.service, kind: marker.kind, text: marker.text },
        {
          service: "web",
          kind: "switch",
          text: "live blue → green",
        },
      );
      const after = await next("status");
      assert.equal(after.services[0].routing.live, "green");
    } finally {
      abort.abort();
      stop = true;
      await traffic;
    }
    // A page opened now gets the switch at once, in its history.
    const again = await fetch(`${teal.adminUrl}/v1/live`, { headers: { authorization: `Bearer ${view}` } });
    const first = await readSse(again.body!).next();
    const history = JSON.parse(first.value!.data) as Json;
    assert.ok(history.samples.length >= 1);
    assert.ok(history.markers.some((m: Json) => m.kind === "switch"));
    await again.body!.cancel().catch(() => {});
  });

  it("serves the page without a token, with a strict Content-Security-Policy and cacheable assets", async () => {
    const page = await call("GET", "/", undefined);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const csp = page.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(page.text, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    const script = /src="(\/assets\/main-[\w]+\.js)"/.exec(page.text)![1]!;
    const style = /href="(\/assets\/main-[\w]+\.css)"/.exec(page.text)![1]!;
    const js = await call("GET", script, undefined);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type")!, /^text\/javascript/);
    assert.match(js.headers.get("cache-control")!, /immutable/);
    assert.match((await call("GET", style, undefined)).headers.get("content-type")!, /^text\/css/);
    assert.equal((await call("GET", "/assets/..%2Fadmin.token", undefined)).status, 404);
  });

  it("`teal dashboard` prints the address with the view token after '#', never in the path or query", async () => {
    const r = await runCli(["dashboard", "--data-dir", dir.path]);
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.split("\n")[0]!);
    assert.equal(url.origin, teal.adminUrl);
    assert.equal(url.pathname + url.search, "/");
    assert.equal(url.hash, `#view=${view}`);

    // --open hands the browser a 0600 file in the data dir that forwards to the link: a browser's
    // command line is readable by every local user, the token must not be on it.
    const bin = await tempDir();
    try {
      const argsFile = join(bin.path, "args");
      await writeFile(join(bin.path, "xdg-open"), `#!/bin/sh\necho "$@" > ${argsFile}\n`, { mode: 0o755 });
      const opened = await runCli(["dashboard", "--open", "--data-dir", dir.path], {
        PATH: `${bin.path}:${process.env.PATH}`,
      });
      assert.equal(opened.code, 0, opened.stderr);
      const ran = await eventually(() => readFile(argsFile, "utf8").catch(() => false), "xdg-open to run");
      const arg = String(ran).trim();
      assert.equal(arg, pathToFileURL(join(dir.path, "dashboard-link.html")).href);
      assert.ok(!arg.includes(view), "the token is not on the browser's command line");
      const link = join(dir.path, "dashboard-link.html");
      assert.ok((await readFile(link, "utf8")).includes(`${teal.adminUrl}/#view=${view}`));
      assert.equal((await stat(link)).mode & 0o777, 0o600);
    } finally {
      await bin.remove();
    }

    const none = await tempDir();
    try {
      const missing = await runCli(["dashboard", "--data-dir", none.path]);
      assert.equal(missing.code, 3);
      assert.match(missing.stderr, /no teal server is running on data dir .*: start one with 'teal server'/);
      assert.doesNotMatch(missing.stderr, /\n\s+at /, "no stack trace");
    } finally {
      await none.remove();
    }
  });
});
