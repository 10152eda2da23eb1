/** Lifecycle hooks against real commands and a real HTTP receiver. */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type HookConfig, hookSchema } from "../../src/config/schema.ts";
import { type HookContext, runHooks } from "../../src/deploy/hooks.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";

const backends: Backend[] = [];
const cwd = realpathSync(mkdtempSync(join(tmpdir(), "teal-hooks-")));
after(async () => {
  await Promise.all(backends.map((b) => b.close()));
  rmSync(cwd, { recursive: true, force: true });
});

interface Received {
  readonly method: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP receiver that records each request and answers with the given status ("hang": never). */
async function receiver(status: number | "hang" = 200, reply = "ok") {
  const got: Received[] = [];
  const backend = await startBackend("hook-receiver", (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      got.push({ method: req.method, headers: req.headers, body });
      if (status !== "hang") res.writeHead(status).end(reply);
    });
  });
  backends.push(backend);
  return { url: `${backend.url}/hooks/deploy`, got };
}

const hooks = (...input: unknown[]): HookConfig[] => input.map((h) => hookSchema.parse(h));
const context: HookContext = {
  point: "beforeTraffic",
  service: "web",
  version: "v2",
  color: "green",
  stableColor: "blue",
  deploymentSeq: 7,
  urls: ["http://127.0.0.1:4001", "http://127.0.0.1:4002"],
  cwd,
};
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

describe("hooks", () => {
  it("runs hooks in order and stops at the first failure, with its exit code and output tail", async () => {
    const { url, got } = await receiver();
    const failing = "for i in $(seq 1 30); do echo line $i; done; echo oops >&2; exit 3";
    const report = await runHooks(
      hooks({ command: "echo migrated" }, { http: { url } }, { command: failing }, { command: "touch ran" }),
      context,
    );
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok, r.detail]),
      [
        ["echo migrated", true, "exit code 0"],
        [`POST ${url}`, true, "status 200"],
        [failing, false, "exit code 3"],
      ],
    );
    assert.deepEqual(report.results[0]?.output, ["migrated"]);
    const tail = report.results[2]?.output;
    assert.equal(tail?.length, 20);
    assert.deepEqual([tail?.[0], tail?.at(-2), tail?.at(-1)], ["line 12", "line 30", "oops"]);
    assert.equal(got.length, 1);
    assert.equal(existsSync(join(cwd, "ran")), false, "the hook after the failure must not run");
    assert.ok(report.results.every((r) => r.durationMs >= 0));
  });

  it("passes when every hook passes, naming argv hooks by their words", async () => {
    const report = await runHooks(
      hooks({ command: ["sh", "-c", "exit 0"] }, { name: "noop", command: "true" }),
      context,
    );
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok]),
      [
        ["sh -c exit 0", true],
        ["noop", true],
      ],
    );
    assert.equal(report.ok, true);
  });

  it("kills a hanging command's whole process group when it times out", async () => {
    const report = await runHooks(
      hooks({ timeoutMs: 300, command: "sleep 30 & echo $! > hook-child.pid; echo started; wait" }),
      context,
    );
    assert.deepEqual(
      report.results.map((r) => [r.ok, r.detail, r.output]),
      [[false, "timed out after 300 ms", ["started"]]],
    );
    const grandchild = Number(readFileSync(join(cwd, "hook-child.pid"), "utf8"));
    await eventually(() => !isRunning(grandchild), "the backgrounded sleep to be killed");
  });

  it("gives a command what is being deployed, in its cwd, without teal's API token", async () => {
    const script = `
      const e = process.env;
      console.log([e.TEAL_HOOK, e.TEAL_SERVICE, e.TEAL_VERSION, e.TEAL_COLOR, e.TEAL_STABLE_COLOR, e.TEAL_DEPLOYMENT].join("|"));
      console.log(e.TEAL_URL + "|" + e.TEAL_URLS);
      console.log("token:" + (e.TEAL_TOKEN ?? "none"), "cwd:" + process.cwd());`;
    const saved = process.env.TEAL_TOKEN;
    process.env.TEAL_TOKEN = "secret-admin-token";
    try {
      const report = await runHooks(hooks({ command: node(script) }), { ...context, point: "onRollback" });
      assert.deepEqual(report.results[0]?.output, [
        "onRollback|web|v2|green|blue|7",
        "http://127.0.0.1:4001|http://127.0.0.1:4001 http://127.0.0.1:4002",
        `token:none cwd:${cwd}`,
      ]);
    } finally {
      if (saved === undefined) delete process.env.TEAL_TOKEN;
      else process.env.TEAL_TOKEN = saved;
    }
  });

  it("POSTs a JSON description of the deployment to an HTTP hook by default", async () => {
    const { url, got } = await receiver(204);
    const report = await runHooks(hooks({ http: { url, headers: { Authorization: "Bearer h1" } } }), {
      ...context,
      point: "afterTraffic",
    });
    assert.equal(report.ok, true);
    const [request] = got;
    assert.equal(request?.method, "POST");
    assert.equal(request?.headers["content-type"], "application/json");
    assert.equal(request?.headers.authorization, "Bearer h1");
    assert.deepEqual(JSON.parse(request?.body ?? ""), {
      hook: "afterTraffic",
      service: "web",
      version: "v2",
      color: "green",
      stableColor: "blue",
      deployment: 7,
    });
  });

  it("sends a configured body and method as they are", async () => {
    const { url, got } = await receiver();
    await runHooks(hooks({ http: { url, method: "PUT", body: "deploying=v2" } }), context);
    assert.deepEqual(
      got.map((r) => [r.method, r.body, r.headers["content-type"]]),
      [["PUT", "deploying=v2", undefined]],
    );
  });

  it("fails an HTTP hook that answers with a non-2xx status, keeping what it said", async () => {
    const { url } = await receiver(503, "maintenance window\nnot now");
    const report = await runHooks(
      hooks({ name: "gate", http: { url } }, { command: "touch ran-after-http" }),
      context,
    );
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.results.map((r) => [r.name, r.ok, r.detail, r.output]),
      [["gate", false, "status 503", ["maintenance window", "not now"]]],
    );
    assert.equal(existsSync(join(cwd, "ran-after-http")), false);
  });

  it("fails an HTTP hook that does not answer within timeoutMs", async () => {
    const { url } = await receiver("hang");
    const report = await runHooks(hooks({ timeoutMs: 100, http: { url } }), context);
    assert.deepEqual(
      report.results.map((r) => [r.ok, r.detail]),
      [[false, "timed out after 100 ms"]],
    );
  });

  it("rejects with the signal's reason when aborted while a hook runs", async () => {
    const { url, got } = await receiver("hang");
    const controller = new AbortController();
    const running = runHooks(hooks({ http: { url } }), context, controller.signal);
    await eventually(() => got.length === 1, "the hook request to arrive");
    controller.abort(new Error("deployment cancelled"));
    await assert.rejects(running, /deployment cancelled/);
  });
});
