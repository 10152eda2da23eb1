/** The process runtime against real child processes: launch, env, logs, stop, crash, adopt, rotation. */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Clock } from "../../src/domain/clock.ts";
import { isTealError } from "../../src/domain/errors.ts";
import type { InstanceRecord } from "../../src/domain/slot.ts";
import { isAlive, isSameProcess, pidStartTime } from "../../src/runtime/process/proc-info.ts";
import { ProcessRuntime } from "../../src/runtime/process/process-runtime.ts";
import type { LaunchSpec } from "../../src/runtime/runtime.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { ManualClock } from "../support/manual-clock.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const exampleApp = fileURLToPath(new URL("../../examples/app.mjs", import.meta.url));
const runtimeModule = new URL("../../src/runtime/process/process-runtime.ts", import.meta.url).href;
const logMaxBytes = 1_000_000;

/** A node -e script as an argv command (no shell). */
const nodeScript = (source: string): string[] => [process.execPath, "-e", source];
const idle = "setInterval(() => {}, 1e6);";
const envServer = `require("node:http").createServer((req, res) => res.end(JSON.stringify(process.env))).listen(Number(process.env.PORT), "127.0.0.1");`;

let dir: string;
/** Each test's own working directory and log directory. */
let testDir: string;
/** Every process a test starts, killed (whole group) after each test. */
let started: { pid: number; startTime: number | null }[] = [];

function track(record: Pick<InstanceRecord, "pid" | "pidStartTime">): void {
  started.push({ pid: record.pid, startTime: record.pidStartTime });
}

function runtime(options: { clock?: Clock; exitPollMs?: number } = {}): ProcessRuntime {
  return new ProcessRuntime({ logDir: join(testDir, "logs"), ...options });
}

function spec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    service: "web",
    color: "blue",
    version: "v1",
    deploymentSeq: 7,
    index: 0,
    command: ["node", exampleApp],
    cwd: testDir,
    env: {},
    ...overrides,
  };
}

async function launch(rt: ProcessRuntime, overrides: Partial<LaunchSpec> = {}, maxBytes = logMaxBytes) {
  const handle = await rt.launch(spec(overrides), { logMaxBytes: maxBytes });
  track(handle.record);
  return handle;
}

function answers(url: string) {
  return eventually(async () => {
    try {
      const reply = await get(url);
      return reply.status === 200 && (JSON.parse(reply.body) as Record<string, string>);
    } catch {
      return false;
    }
  }, `${url} to answer`);
}

function logContains(path: string, text: string) {
  return eventually(async () => (await readFile(path, "utf8")).includes(text), `"${text}" in ${path}`);
}

// Instances are unref'd (they must never keep teal running), so awaiting only their exit would let
// the test process end early; in teal the servers keep the loop alive, here this timer does.
let keepAlive: NodeJS.Timeout;

/** The pid a shell command wrote to a file in the test directory; tracked for cleanup. */
async function pidFrom(file: string): Promise<number> {
  const pid = await eventually(async () => {
    const text = await readFile(join(testDir, file), "utf8").catch(() => "");
    return text.endsWith("\n") && Number(text);
  }, `a pid in ${file}`);
  track({ pid, pidStartTime: pidStartTime(pid) });
  return pid;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "teal-runtime-"));
  keepAlive = setInterval(() => {}, 60_000);
});

beforeEach(async () => {
  testDir = await mkdtemp(join(dir, "test-"));
});

afterEach(() => {
  for (const { pid, startTime } of started) {
    if (!isSameProcess(pid, startTime)) continue;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
  }
  started = [];
});

after(async () => {
  clearInterval(keepAlive);
  await rm(dir, { recursive: true, force: true });
});

describe("ProcessRuntime.launch", () => {
  it("starts the app on a free port where it answers HTTP with its color and version", async () => {
    const handle = await launch(runtime());
    const { record } = handle;
    assert.equal(record.id, "web-blue-7-0");
    assert.equal(record.url, `http://127.0.0.1:${record.port}`);
    assert.equal(record.pidStartTime, pidStartTime(record.pid));
    assert.ok(handle.alive());
    assert.deepEqual(await answers(`${record.url}/health`), { status: "ok", color: "blue", version: "v1" });
  });

  it("gives the app its port, color and version but never teal's token", async () => {
    const saved = process.env.TEAL_TOKEN;
    process.env.TEAL_TOKEN = "secret-admin-token";
    try {
      const handle = await launch(runtime(), {
        color: "green",
        version: "v2",
        command: nodeScript(envServer),
        env: { GREETING: "hi", PORT: "1" },
      });
      const env = await answers(handle.record.url);
      assert.equal(env.PORT, String(handle.record.port));
      assert.equal(env.TEAL_COLOR, "green");
      assert.equal(env.DEPLOYMENT_COLOR, "green");
      assert.equal(env.TEAL_VERSION, "v2");
      assert.equal(env.TEAL_SERVICE, "web");
      assert.equal(env.TEAL_INSTANCE, "web-green-7-0");
      assert.equal(env.GREETING, "hi");
      assert.equal(env.TEAL_TOKEN, undefined);
    } finally {
      if (saved === undefined) delete process.env.TEAL_TOKEN;
      else process.env.TEAL_TOKEN = saved;
    }
  });

  it("writes a header and the app's stdout and stderr to its log file", async () => {
    const clock = new ManualClock(Date.parse("2030-01-02T03:04:05.000Z"));
    const handle = await launch(runtime({ clock }), {
      index: 2,
      command: nodeScript(`console.log("to stdout"); console.error("to stderr");`),
    });
    await handle.exited;
    const { record } = handle;
    assert.equal(record.logPath, join(testDir, "logs", "web", "blue-2.log"));
    assert.equal(record.startedAt, "2030-01-02T03:04:05.000Z");
    assert.deepEqual((await readFile(record.logPath, "utf8")).split("\n"), [
      `--- teal 2030-01-02T03:04:05.000Z: starting web v1 on blue (deployment 7, instance 2, port ${record.port}) ---`,
      "to stdout",
      "to stderr",
      "",
    ]);
  });

  it("resolves exited with the code of an instance that crashes", async () => {
    const handle = await launch(runtime(), { command: nodeScript("process.exit(3)") });
    assert.deepEqual(await handle.exited, { code: 3, signal: null });
    assert.equal(handle.alive(), false);
  });

  it("runs a string command through the shell, where a missing program exits with 127", async () => {
    const handle = await launch(runtime(), { command: "teal-no-such-command --flag" });
    assert.deepEqual(await handle.exited, { code: 127, signal: null });
  });

  it("fails with LAUNCH_FAILED naming a working directory that does not exist", async () => {
    const cwd = join(testDir, "missing");
    await assert.rejects(runtime().launch(spec({ cwd }), { logMaxBytes }), (err) => {
      assert.ok(isTealError(err, "LAUNCH_FAILED"));
      assert.equal(err.message, `working directory ${cwd} does not exist`);
      return true;
    });
  });

  it("fails with LAUNCH_FAILED naming a program that does not exist", async () => {
    const command = ["teal-no-such-command", "--flag"];
    await assert.rejects(runtime().launch(spec({ command }), { logMaxBytes }), (err) => {
      assert.ok(isTealError(err, "LAUNCH_FAILED"));
      assert.equal(err.message, `cannot start "teal-no-such-command": command not found (ENOENT)`);
      return true;
    });
  });
});

describe("InstanceHandle.stop", () => {
  it("stops an app that exits on SIGTERM without forcing it", async () => {
    const handle = await launch(runtime());
    await answers(`${handle.record.url}/health`);
    const result = await handle.stop("SIGTERM", 5_000);
    assert.deepEqual(result, { forced: false, exit: { code: 0, signal: null } });
    assert.equal(handle.alive(), false);
    assert.equal(handle.stop("SIGTERM", 5_000), handle.stop("SIGKILL", 0), "stop is idempotent");
    assert.deepEqual(await handle.stop("SIGTERM", 5_000), result);
  });

  it("SIGKILLs an app that ignores SIGTERM once the timeout passes", async () => {
    const clock = new ManualClock();
    const handle = await launch(runtime({ clock }), {
      command: nodeScript(
        `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); ${idle}`,
      ),
    });
    await logContains(handle.record.logPath, "ready");
    const stopping = handle.stop("SIGTERM", 3_000);
    await logContains(handle.record.logPath, "ignoring SIGTERM");
    assert.ok(handle.alive());
    await clock.advance(3_000);
    assert.deepEqual(await stopping, { forced: true, exit: { code: null, signal: "SIGKILL" } });
    assert.equal(clock.pendingCount, 0, "no timers left once the instance is gone");
  });

  it("stops the whole process group of a shell command, grandchildren included", async () => {
    const handle = await launch(runtime(), { command: "sleep 1000 & echo $! > sleep.pid; wait" });
    const sleepPid = await pidFrom("sleep.pid");
    assert.ok(isAlive(sleepPid));
    const result = await handle.stop("SIGTERM", 5_000);
    assert.equal(result.forced, false);
    assert.equal(isAlive(sleepPid), false);
  });

  it("waits for a grandchild that shuts down after its shell has gone", async () => {
    const slow = `process.on("SIGTERM", () => setTimeout(() => process.exit(0), 200)); console.log("ready"); ${idle}`;
    const handle = await launch(runtime(), {
      command: `${process.execPath} -e '${slow}' & echo $! > slow.pid; wait`,
    });
    await logContains(handle.record.logPath, "ready");
    const slowPid = await pidFrom("slow.pid");
    const result = await handle.stop("SIGTERM", 5_000);
    assert.equal(result.forced, false);
    assert.equal(isAlive(slowPid), false, "stop resolved while the grandchild was still shutting down");
  });

  it("does not throw for an instance that is already dead", async () => {
    const handle = await launch(runtime(), { command: nodeScript("process.exit(0)") });
    await handle.exited;
    assert.deepEqual(await handle.stop("SIGTERM", 1_000), { forced: false, exit: { code: 0, signal: null } });
  });
});

describe("ProcessRuntime.adopt", () => {
  it("re-adopts an instance whose teal was killed with SIGKILL, and sees it exit", async () => {
    const launcherSource = `
      import { ProcessRuntime } from ${JSON.stringify(runtimeModule)};
      const runtime = new ProcessRuntime({ logDir: ${JSON.stringify(join(testDir, "logs"))} });
      const spec = ${JSON.stringify(spec({ index: 5 }))};
      const handle = await runtime.launch(spec, { logMaxBytes: ${logMaxBytes} });
      console.log(JSON.stringify(handle.record));
      ${idle}`;
    const teal = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", launcherSource], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    track({ pid: teal.pid!, pidStartTime: pidStartTime(teal.pid!) });
    const tealExited = once(teal, "exit");
    const lines = createInterface({ input: teal.stdout });
    const [line] = (await once(lines, "line")) as [string];
    lines.close();
    const record = JSON.parse(line) as InstanceRecord;
    track(record);
    teal.kill("SIGKILL");
    await tealExited;

    await answers(`${record.url}/health`);
    const handle = runtime({ exitPollMs: 20 }).adopt(record, { logMaxBytes });
    assert.ok(handle, "a live instance with the recorded start time is adopted");
    assert.equal(handle.record.pid, record.pid);
    assert.ok(handle.alive());
    process.kill(record.pid, "SIGKILL");
    assert.deepEqual(await handle.exited, { code: null, signal: null });
    assert.equal(handle.alive(), false);
  });

  it("stops an adopted instance through its process group", async () => {
    const launched = await launch(runtime());
    await answers(`${launched.record.url}/health`);
    const handle = runtime({ exitPollMs: 20 }).adopt(launched.record, { logMaxBytes });
    assert.ok(handle);
    const result = await handle.stop("SIGTERM", 5_000);
    assert.equal(result.forced, false);
    assert.deepEqual(await launched.exited, { code: 0, signal: null });
  });

  it("refuses a record whose pid now belongs to a process with another start time", async () => {
    const { record } = await launch(runtime(), { command: nodeScript(idle) });
    assert.equal(
      runtime().adopt({ ...record, pidStartTime: (record.pidStartTime ?? 0) + 1 }, { logMaxBytes }),
      undefined,
    );
  });

  it("refuses a record whose process has exited", async () => {
    const handle = await launch(runtime(), { command: nodeScript("process.exit(0)") });
    await handle.exited;
    assert.equal(runtime().adopt(handle.record, { logMaxBytes }), undefined);
  });
});

describe("log rotation", () => {
  it("moves the log to .1 once it passes the cap, and the app keeps writing to the emptied file", async () => {
    const clock = new ManualClock();
    const writeLots = `process.stdout.write(("x".repeat(99) + "\\n").repeat(1000)); console.log("written");`;
    const handle = await launch(
      runtime({ clock }),
      {
        command: nodeScript(
          `process.on("SIGUSR2", () => console.log("after rotation")); ${writeLots} ${idle}`,
        ),
      },
      10_000,
    );
    const { logPath } = handle.record;
    await logContains(logPath, "written");
    await clock.advance(1_000);
    // The truncation comes after the copy, so once the log is small again the copy is complete.
    await eventually(async () => (await stat(logPath)).size < 10_000, "the log to be truncated");
    assert.ok((await stat(`${logPath}.1`)).size > 100_000);

    process.kill(handle.record.pid, "SIGUSR2");
    await logContains(logPath, "after rotation");
    assert.equal(await readFile(logPath, "utf8"), "after rotation\n");

    await handle.stop("SIGTERM", 5_000);
    assert.equal(clock.pendingCount, 0, "the size check stops with the instance");
  });
});
