import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { log, sleep } from "./util.ts";

/** A child process started by the bench; it runs in its own process group. */
export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: boolean;
  exitCode: number | null;
}

const running = new Set<Managed>();
let stopping = false;

/**
 * Start a long-lived process with stdout+stderr to a log file in `logDir`.
 * `detached` puts it in its own process group, so stopping it also stops any workers it forks.
 */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { cwd: string; logDir: string; env?: NodeJS.ProcessEnv },
): Managed {
  if (stopping) throw new Error(`not starting ${name}: the bench is stopping`);
  const logFile = path.join(opts.logDir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const m: Managed = { name, child, pid: child.pid, logFile, exited: false, exitCode: null };
  running.add(m);
  child.once("exit", (code) => {
    m.exited = true;
    m.exitCode = code;
    running.delete(m);
  });
  child.once("error", (err) => log(`${name}: ${err.message}`));
  return m;
}

export function logTail(m: Managed, lines = 15): string {
  try {
    return readFileSync(m.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function signalGroup(m: Managed, sig: NodeJS.Signals): void {
  try {
    process.kill(-m.pid, sig); // the whole group: the process and any workers it forked
  } catch {
    // already gone
  }
}

/** SIGTERM the process group, wait up to `graceMs`, then SIGKILL. */
export async function stopProcess(m: Managed, graceMs = 3000): Promise<void> {
  if (m.exited) {
    signalGroup(m, "SIGKILL"); // reap any leftover workers of the group
    return;
  }
  signalGroup(m, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (!m.exited && Date.now() < deadline) await sleep(50);
  signalGroup(m, "SIGKILL");
  for (let i = 0; i < 40 && !m.exited; i++) await sleep(25);
}

/** Stop every process still running; with `final`, refuse to start new ones afterwards. */
export async function stopAll(final = false): Promise<void> {
  if (final) stopping = true;
  await Promise.all([...running].map((m) => stopProcess(m)));
}

/** Synchronous last resort (process 'exit' handler): SIGKILL whatever is still running. */
export function killAllSync(): void {
  for (const m of running) signalGroup(m, "SIGKILL");
}

/** Wait for `check` (bounded), failing fast with the log tail if the process exits first. */
export async function waitReady(
  m: Managed,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = `timed out after ${timeoutMs} ms waiting for ${what}`;
  for (let i = 0; i < timeoutMs / 100 + 1 && Date.now() < deadline; i++) {
    if (m.exited) {
      problem = `${m.name} exited with code ${m.exitCode}`;
      break;
    }
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  await stopProcess(m);
  throw new Error(`${problem}\n--- ${m.name} log tail ---\n${logTail(m)}`);
}
