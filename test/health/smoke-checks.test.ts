/** Smoke checks against real HTTP servers and real commands. */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type SmokeCheckConfig, smokeCheckSchema } from "../../src/config/schema.ts";
import { runSmokeChecks, type SmokeTarget } from "../../src/deploy/smoke-checks.ts";
import { type Backend, type Handler, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";

const backends: Backend[] = [];
const cwd = realpathSync(mkdtempSync(join(tmpdir(), "teal-smoke-")));
after(async () => {
  await Promise.all(backends.map((b) => b.close()));
  rmSync(cwd, { recursive: true, force: true });
});

async function serve(handler: Handler): Promise<Backend> {
  const backend = await startBackend("smoke", handler);
  backends.push(backend);
  return backend;
}

/** Answers /api/ping with "pong", anything else with 404. */
function pinger(status = 200): Handler {
  return (req, res) => {
    req.resume();
    if (req.url !== "/api/ping") return void res.writeHead(404).end();
    res.writeHead(status, { "content-type": "text/plain" });
    res.end("pong");
  };
}

const checks = (...input: unknown[]): SmokeCheckConfig[] => input.map((c) => smokeCheckSchema.parse(c));
const target = (urls: string[]): SmokeTarget => ({
  service: "web",
  color: "green",
  version: "v2",
  urls,
  cwd,
});
const node = (script: string) => [process.execPath, "-e", script];

/** True while the process exists and is not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("smoke checks", () => {
  it("passes when every check passes on every instance, in order", async () => {
    const [a, b] = [await serve(pinger()), await serve(pinger())];
    const report = await runSmokeChecks(
      checks(
        { http: { path: "/api/ping", expectBody: "pong" } },
        {
          name: "ping through node",
          command: node("fetch(process.env.TEAL_URL + '/api/ping').then((r) => process.exit(r.ok ? 0 : 1))"),
        },
      ),
      target([a!.url, b!.url]),
    );
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok, r.detail]),
      [
        ["GET /api/ping", true, `GET /api/ping on ${a!.url}: 200; GET /api/ping on ${b!.url}: 200`],
        ["ping through node", true, "exit code 0"],
      ],
    );
    assert.deepEqual([a!.seen.length, b!.seen.length], [2, 1]);
    assert.ok(report.results.every((r) => r.durationMs >= 0));
  });

  it("stops at the first failure: a status mismatch on one instance skips the later checks", async () => {
    const [good, bad] = [await serve(pinger()), await serve(pinger(500))];
    const report = await runSmokeChecks(
      checks({ http: { path: "/api/ping" } }, { command: "exit 0" }),
      target([good!.url, bad!.url]),
    );
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok, r.detail]),
      [["GET /api/ping", false, `GET /api/ping on ${bad!.url}: status 500 (expected 200)`]],
    );
  });

  it("sends the method, headers and body, and fails when the body lacks expectBody", async () => {
    let received: { method?: string; token?: string | string[]; body: string } | undefined;
    const backend = await serve((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        received = { method: req.method, token: req.headers["x-token"], body };
        res.writeHead(201).end("created");
      });
    });
    const report = await runSmokeChecks(
      checks({
        name: "create order",
        http: {
          path: "/api/orders",
          method: "POST",
          headers: { "x-token": "t1" },
          body: '{"item":1}',
          expectStatus: [200, 201],
          expectBody: "pong",
        },
      }),
      target([backend.url]),
    );
    assert.deepEqual(received, { method: "POST", token: "t1", body: '{"item":1}' });
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok, r.detail]),
      [["create order", false, `POST /api/orders on ${backend.url}: body does not contain "pong"`]],
    );
  });

  it("fails an http check that gets no answer within timeoutMs", async () => {
    const silent = await serve(() => {});
    const report = await runSmokeChecks(
      checks({ timeoutMs: 100, http: { path: "/api/ping" } }),
      target([silent.url]),
    );
    assert.equal(report.results[0]?.detail, `GET /api/ping on ${silent.url}: timed out after 100 ms`);
  });

  it("reports a command's exit code and the tail of its output", async () => {
    const report = await runSmokeChecks(
      checks({ command: "for i in $(seq 1 30); do echo line $i; done; echo oops >&2; exit 3" }),
      target([]),
    );
    const [result] = report.results;
    assert.equal(report.ok, false);
    assert.equal(result?.name, "for i in $(seq 1 30); do echo line $i; done; echo oops >&2; exit 3");
    assert.equal(result?.detail, "exit code 3");
    assert.equal(result?.output?.length, 20);
    assert.deepEqual(
      [result?.output?.[0], result?.output?.at(-2), result?.output?.at(-1)],
      ["line 12", "line 30", "oops"],
    );

    const direct = await runSmokeChecks(checks({ command: ["sh", "-c", "exit 3"] }), target([]));
    assert.deepEqual(
      direct.results.map((r) => [r.name, r.detail]),
      [["sh -c exit 3", "exit code 3"]],
    );
  });

  it("kills a hanging command's whole process group when it times out", async () => {
    const report = await runSmokeChecks(
      checks({ timeoutMs: 300, command: "sleep 30 & echo $! > child.pid; echo started; wait" }),
      target([]),
    );
    assert.deepEqual(
      report.results.map((r) => [r.ok, r.detail, r.output]),
      [[false, "timed out after 300 ms", ["started"]]],
    );
    const grandchild = Number(readFileSync(join(cwd, "child.pid"), "utf8"));
    await eventually(() => !isRunning(grandchild), "the backgrounded sleep to be killed");
  });

  it("gives the command where the new color answers, in its cwd, without teal's API token", async () => {
    const backend = await serve(pinger());
    const script = `
      const e = process.env;
      fetch(e.TEAL_URL + "/api/ping").then(async (r) => {
        console.log(await r.text());
        console.log([e.TEAL_URLS, e.TEAL_SERVICE, e.TEAL_COLOR, e.TEAL_VERSION].join("|"));
        console.log("token:" + (e.TEAL_TOKEN ?? "none"), "cwd:" + process.cwd());
      });`;
    const saved = process.env.TEAL_TOKEN;
    process.env.TEAL_TOKEN = "secret-admin-token";
    try {
      const report = await runSmokeChecks(
        checks({ command: node(script) }),
        target([backend.url, "http://127.0.0.1:1"]),
      );
      assert.deepEqual(report.results[0]?.output, [
        "pong",
        `${backend.url} http://127.0.0.1:1|web|green|v2`,
        `token:none cwd:${cwd}`,
      ]);
    } finally {
      if (saved === undefined) delete process.env.TEAL_TOKEN;
      else process.env.TEAL_TOKEN = saved;
    }
  });

  it("rejects with the signal's reason when aborted, and kills the running command", async () => {
    const controller = new AbortController();
    const pidFile = join(cwd, "aborted.pid");
    const running = runSmokeChecks(
      checks({
        command: node(
          `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`,
        ),
      }),
      target([]),
      controller.signal,
    );
    const pid = await eventually(
      () => existsSync(pidFile) && Number(readFileSync(pidFile, "utf8")),
      "the command to start",
    );
    controller.abort(new Error("deployment cancelled"));
    await assert.rejects(running, /deployment cancelled/);
    await eventually(() => !isRunning(pid), "the command to be killed");
  });
});
