/**
 * The process runtime: each instance is a detached child in its own process group that writes
 * straight to its log file, so it outlives a crashed teal and the next teal re-adopts it.
 */

import { spawn } from "node:child_process";
import { once } from "node:events";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, sleep, systemClock } from "../../domain/clock.ts";
import { TealError } from "../../domain/errors.ts";
import type { InstanceRecord } from "../../domain/slot.ts";
import { capLogSize, openLogForAppend } from "../log-files.ts";
import type { InstanceExit, InstanceHandle, InstanceOptions, LaunchSpec, Runtime } from "../runtime.ts";
import { inheritedEnv } from "./child-env.ts";
import { freePort } from "./free-port.ts";
import {
  groupHasLiveMembers,
  groupsWritingUnder,
  isAlive,
  isSameProcess,
  pidStartTime,
} from "./proc-info.ts";

export interface ProcessRuntimeOptions {
  /** Instance logs go to `<logDir>/<service>/<color>-<index>.log`. */
  readonly logDir: string;
  readonly clock?: Clock;
  /** How often an adopted instance (not our child, so it sends no exit event) is checked; default 500. */
  readonly exitPollMs?: number;
}

export type { InstanceOptions };

type StopOutcome = Awaited<ReturnType<InstanceHandle["stop"]>>;

const GROUP_POLL_MS = 50;

/** Starts, adopts and stops instances as local processes. The constructor does no I/O. */
export class ProcessRuntime implements Runtime {
  readonly #logDir: string;
  readonly #clock: Clock;
  readonly #exitPollMs: number;

  constructor(options: ProcessRuntimeOptions) {
    this.#logDir = options.logDir;
    this.#clock = options.clock ?? systemClock;
    this.#exitPollMs = options.exitPollMs ?? 500;
  }

  /** Nothing to fetch: the command runs from the local disk. */
  async prepare(): Promise<void> {}

  /** Starts one instance on a free port; rejects with LAUNCH_FAILED when it cannot be started at all. */
  async launch(spec: LaunchSpec, options: InstanceOptions): Promise<InstanceHandle> {
    await assertDirectory(spec.cwd);
    const port = await freePort();
    const id = `${spec.service}-${spec.color}-${spec.deploymentSeq}-${spec.index}`;
    const logPath = join(this.#logDir, spec.service, `${spec.color}-${spec.index}.log`);
    const startedAt = new Date(this.#clock.now()).toISOString();
    const header = `--- teal ${startedAt}: starting ${spec.service} ${spec.version} on ${spec.color} (deployment ${spec.deploymentSeq}, instance ${spec.index}, port ${port}) ---\n`;
    const child = await startChild(spec, instanceEnv(spec, port, id), logPath, header);
    const record: InstanceRecord = {
      id,
      index: spec.index,
      pid: child.pid,
      pidStartTime: pidStartTime(child.pid),
      port,
      url: `http://127.0.0.1:${port}`,
      logPath,
      startedAt,
    };
    return new ProcessInstance(record, child.exited, child.running, this.#clock, options.logMaxBytes);
  }

  /**
   * Kills every process group writing into the log directory that no record knows (`known` holds
   * pids): teal started it and crashed before saving it. Processes carry no service label, so
   * `service` does not narrow the sweep. Returns "process group <pgid>" for each.
   */
  async removeOrphans(_service: string, known: ReadonlySet<string>): Promise<string[]> {
    const orphans = [...groupsWritingUnder(this.#logDir)].filter((pgid) => !known.has(String(pgid)));
    for (const pgid of orphans) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {}
    }
    return orphans.map((pgid) => `process group ${pgid}`);
  }

  /**
   * A handle for an instance a previous teal started, or undefined when its process is gone or
   * the pid now belongs to another process (its start time differs from the record's).
   */
  adopt(record: InstanceRecord, options: InstanceOptions): InstanceHandle | undefined {
    const { pid, pidStartTime: startTime } = record;
    if (!isSameProcess(pid, startTime)) return undefined;
    // Not our child, so no exit event: watch /proc instead.
    const exited = new Promise<InstanceExit>((resolve) => {
      const check = () => {
        if (isSameProcess(pid, startTime)) this.#clock.setTimeout(check, this.#exitPollMs);
        else resolve({ code: null, signal: null });
      };
      this.#clock.setTimeout(check, this.#exitPollMs);
    });
    const running = () => isSameProcess(pid, startTime);
    return new ProcessInstance(record, exited, running, this.#clock, options.logMaxBytes);
  }
}

/** One instance: our own child (exit event) or an adopted process (watched through /proc). */
class ProcessInstance implements InstanceHandle {
  readonly record: InstanceRecord;
  readonly exited: Promise<InstanceExit>;
  readonly #running: () => boolean;
  readonly #clock: Clock;
  #exit: InstanceExit | undefined;
  #stopping: Promise<StopOutcome> | undefined;

  constructor(
    record: InstanceRecord,
    exited: Promise<InstanceExit>,
    running: () => boolean,
    clock: Clock,
    logMaxBytes: number,
  ) {
    this.record = record;
    this.#running = running;
    this.#clock = clock;
    this.exited = exited.then((exit) => {
      this.#exit = exit;
      return exit;
    });
    capLogSize(record.logPath, logMaxBytes, clock, this.exited);
  }

  alive(): boolean {
    return this.#exit === undefined && this.#running();
  }

  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<StopOutcome> {
    this.#stopping ??= this.#stop(signal, timeoutMs);
    return this.#stopping;
  }

  async #stop(signal: NodeJS.Signals, timeoutMs: number): Promise<StopOutcome> {
    const deadline = this.#clock.now() + timeoutMs;
    this.#signalGroup(signal);
    if (await this.#goneBy(deadline)) return { forced: false, exit: await this.exited };
    this.#signalGroup("SIGKILL");
    return { forced: true, exit: await this.exited };
  }

  /** Whether the instance and everything left in its process group ended before the deadline. */
  async #goneBy(deadline: number): Promise<boolean> {
    const exited = await new Promise<boolean>((resolve) => {
      const timer = this.#clock.setTimeout(() => resolve(false), deadline - this.#clock.now());
      void this.exited.then(() => {
        timer.cancel();
        resolve(true);
      });
    });
    if (!exited) return false;
    // Children the leader leaves behind (a shell's, a process manager's) get the same grace time.
    while (groupHasLiveMembers(this.record.pid)) {
      const leftMs = deadline - this.#clock.now();
      if (leftMs <= 0) return false;
      await sleep(this.#clock, Math.min(GROUP_POLL_MS, leftMs));
    }
    return true;
  }

  #signalGroup(signal: NodeJS.Signals): void {
    // Once our process is gone its pid may be reused. The kernel keeps a pid reserved while a group
    // of that id exists, so a live process with our pid that is not ours means our group is gone.
    if (!this.alive() && isAlive(this.record.pid)) return;
    try {
      process.kill(-this.record.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
}

interface StartedChild {
  readonly pid: number;
  readonly exited: Promise<InstanceExit>;
  readonly running: () => boolean;
}

/** Spawns the command in its own process group with stdout and stderr appended to the log file. */
async function startChild(
  spec: LaunchSpec,
  env: NodeJS.ProcessEnv,
  logPath: string,
  header: string,
): Promise<StartedChild> {
  if (spec.command === null) throw new TealError("LAUNCH_FAILED", "cannot start an empty command");
  const [file, ...args] = typeof spec.command === "string" ? ["/bin/sh", "-c", spec.command] : spec.command;
  if (file === undefined || file === "")
    throw new TealError("LAUNCH_FAILED", "cannot start an empty command");
  const name = typeof spec.command === "string" ? spec.command : file;
  const log = await openLogForAppend(logPath);
  let started: Promise<unknown>;
  let child: ReturnType<typeof spawn>;
  let exited: Promise<InstanceExit>;
  try {
    await log.write(header);
    try {
      // The child writes to the file itself, not through a pipe to us, so it survives teal's death.
      child = spawn(file, args, { cwd: spec.cwd, env, detached: true, stdio: ["ignore", log.fd, log.fd] });
    } catch (err) {
      throw launchError(name, err as NodeJS.ErrnoException);
    }
    // Listen before any await: a spawn error or a quick exit may arrive while the log closes.
    started = once(child, "spawn");
    started.catch(() => {});
    exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  } finally {
    await log.close();
  }
  try {
    await started;
  } catch (err) {
    throw launchError(name, err as NodeJS.ErrnoException);
  }
  child.unref();
  const running = () => child.exitCode === null && child.signalCode === null;
  return { pid: child.pid!, exited, running };
}

/** teal's environment without its own secrets, then the service's, then what the runtime sets. */
function instanceEnv(spec: LaunchSpec, port: number, id: string): NodeJS.ProcessEnv {
  return {
    ...inheritedEnv(),
    ...spec.env,
    PORT: String(port),
    TEAL_COLOR: spec.color,
    TEAL_VERSION: spec.version,
    DEPLOYMENT_COLOR: spec.color,
    TEAL_SERVICE: spec.service,
    TEAL_INSTANCE: id,
  };
}

/** Checked before spawning: a missing cwd would otherwise look like a missing command (ENOENT). */
async function assertDirectory(cwd: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(cwd)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "does not exist" : `cannot be used (${code})`;
    throw new TealError("LAUNCH_FAILED", `working directory ${cwd} ${reason}`, {
      cause: err,
      details: { cwd },
    });
  }
  if (!isDirectory) {
    throw new TealError("LAUNCH_FAILED", `working directory ${cwd} is not a directory`, { details: { cwd } });
  }
}

function launchError(command: string, err: NodeJS.ErrnoException): TealError {
  const reasons: Record<string, string> = { ENOENT: "command not found", EACCES: "permission denied" };
  const reason = (err.code && reasons[err.code]) ?? err.message;
  const suffix = err.code ? ` (${err.code})` : "";
  return new TealError("LAUNCH_FAILED", `cannot start "${command}": ${reason}${suffix}`, {
    cause: err,
    details: { command },
  });
}
