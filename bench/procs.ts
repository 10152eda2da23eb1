import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, createWriteStream, openSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { log, sleep } from "./util.ts";

/** A child process started by the bench; it runs in its own process group. */
export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: boolean;
  exitCode: number | null;
  /** How long stopProcess waits after SIGTERM before SIGKILL (default 3000 ms). */
  stopGraceMs: number;
}

const running = new Set<Managed>();
let stopping = false;

/**
 * Start a long-lived process with stdout+stderr to a log file in `logDir` (appended to).
 * `detached` puts it in its own process group, so stopping it also stops any workers it forks.
 * With `onStdoutLine`, stdout goes through the bench: each line is passed on, then logged.
 */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: {
    cwd: string;
    logDir: string;
    env?: NodeJS.ProcessEnv;
    onStdoutLine?: (line: string) => void;
    stopGraceMs?: number;
  },
): Managed {
  if (stopping) throw new Error(`not starting ${name}: the bench is stopping`);
  const logFile = path.join(opts.logDir, `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", opts.onStdoutLine ? "pipe" : fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const onLine = opts.onStdoutLine;
  if (onLine && child.stdout) {
    const out = createWriteStream(logFile, { flags: "a" });
    out.on("error", () => {}); // the log is best effort; the line callback is what matters
    createInterface({ input: child.stdout }).on("line", (line) => {
      out.write(`${line}\n`);
      onLine(line);
    });
    child.stdout.once("close", () => out.end());
  }
  const m: Managed = {
    name,
    child,
    pid: child.pid,
    logFile,
    exited: false,
    exitCode: null,
    stopGraceMs: opts.stopGraceMs ?? 3000,
  };
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

const stops = new WeakMap<Managed, Promise<void>>();

/**
 * SIGTERM the process group, wait up to `graceMs`, then SIGKILL. Concurrent calls share one stop:
 * a second SIGTERM would cut a graceful shutdown short (teal, like many servers, then just dies).
 */
export function stopProcess(m: Managed, graceMs = m.stopGraceMs): Promise<void> {
  const pending = stops.get(m);
  if (pending) return pending;
  const stop = stopOnce(m, graceMs).finally(() => stops.delete(m));
  stops.set(m, stop);
  return stop;
}

async function stopOnce(m: Managed, graceMs: number): Promise<void> {
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

/**
 * Processes that a bench process starts on its own, in their own process groups (the app
 * instances that teal runs, which outlive a kill -9 of teal), carry a marker in their command
 * line that is unique to this bench run. They are the bench's to clean up only as a last resort,
 * after their parent was stopped.
 */
const cmdlineMarkers = new Set<string>();

export function trackByCmdline(marker: string): void {
  cmdlineMarkers.add(marker);
}

/** Pids of the live (non-zombie) processes whose command line contains `marker`. */
export function findByCmdline(marker: string): number[] {
  const found: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmdline.includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGKILL every process (and its group, if it leads one) with a tracked marker; returns their pids. */
export function killTracked(): number[] {
  const killed: number[] = [];
  for (const marker of cmdlineMarkers) {
    for (const pid of findByCmdline(marker)) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, "SIGKILL");
        } catch {
          // not a group leader, or gone
        }
      }
      killed.push(pid);
    }
  }
  return killed;
}

/** Called first by stopAll (e.g. a load generator, which must not keep a draining proxy busy). */
const stopHooks = new Set<() => void>();

export function onStopAll(hook: () => void): () => void {
  stopHooks.add(hook);
  return () => stopHooks.delete(hook);
}

/** Stop every process still running; with `final`, refuse to start new ones afterwards. */
export async function stopAll(final = false): Promise<void> {
  if (final) stopping = true;
  for (const hook of stopHooks) hook();
  await Promise.all([...running].map((m) => stopProcess(m)));
  const leftover = killTracked();
  if (leftover.length) log(`killed leftover processes ${leftover.join(", ")}`);
}

/** Synchronous last resort (process 'exit' handler): SIGKILL whatever is still running. */
export function killAllSync(): void {
  for (const m of running) signalGroup(m, "SIGKILL");
  killTracked();
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
