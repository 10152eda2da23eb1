/** One running container as an InstanceHandle: its exit (through the engine's wait), stop, removal. */

import { type Clock, sleep, type Timer } from "../../domain/clock.ts";
import type { InstanceRecord } from "../../domain/slot.ts";
import { capLogSize } from "../log-files.ts";
import type { InstanceExit, InstanceHandle } from "../runtime.ts";
import type { DockerEngine } from "./engine-client.ts";

type StopOutcome = Awaited<ReturnType<InstanceHandle["stop"]>>;

/** After an exit, how long the output copy gets to catch up before `exited` resolves and the container is removed. */
const LOG_DRAIN_MS = 2000;
const WAIT_RETRY_MS = 500;

export interface ContainerInstanceOptions {
  readonly record: InstanceRecord;
  readonly engine: DockerEngine;
  readonly clock: Clock;
  readonly logMaxBytes: number;
  /** Resolves when the output copy ends (the container stopped, or stopCopying was called). */
  readonly logsCopied: Promise<void>;
  readonly stopCopying: () => void;
  readonly remove: () => Promise<void>;
}

export class ContainerInstance implements InstanceHandle {
  readonly record: InstanceRecord;
  readonly exited: Promise<InstanceExit>;
  readonly #options: ContainerInstanceOptions;
  readonly #id: string;
  #exit: InstanceExit | undefined;
  #stopping: Promise<StopOutcome> | undefined;
  /** Once the container exited (its output copied or given up on): the container removed. */
  readonly #removed: Promise<void>;

  constructor(options: ContainerInstanceOptions) {
    this.record = options.record;
    this.#options = options;
    this.#id = options.record.containerId!;
    // Resolved once the output is in the log file too, so that a failure report has its last lines.
    this.exited = this.#waitForExit().then(async (exit) => {
      await this.#drainLogs();
      this.#exit = exit;
      return exit;
    });
    this.#removed = this.exited.then(() => options.remove().catch(() => {}));
    capLogSize(this.record.logPath, options.logMaxBytes, options.clock, this.exited);
  }

  alive(): boolean {
    return this.#exit === undefined;
  }

  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<StopOutcome> {
    if (!this.#stopping) {
      const stopping = this.#stop(signal, timeoutMs);
      // A failed stop (the engine unreachable, say) is not the answer forever: the next call retries.
      stopping.catch(() => {
        if (this.#stopping === stopping) this.#stopping = undefined;
      });
      this.#stopping = stopping;
    }
    return this.#stopping;
  }

  async #stop(signal: NodeJS.Signals, timeoutMs: number): Promise<StopOutcome> {
    const { clock } = this.#options;
    await this.#kill(signal);
    const inTime = await new Promise<boolean>((resolve) => {
      const timer = clock.setTimeout(() => resolve(false), timeoutMs);
      void this.exited.then(() => {
        timer.cancel();
        resolve(true);
      });
    });
    if (!inTime) await this.#kill("SIGKILL");
    const exit = await this.exited;
    await this.#removed;
    return { forced: !inTime, exit };
  }

  async #kill(signal: NodeJS.Signals): Promise<void> {
    if (this.#exit) return;
    try {
      await this.#options.engine.json(
        "POST",
        `/containers/${this.#id}/kill?signal=${signal}`,
        "signalling a container",
      );
    } catch (err) {
      // 404: already removed; 409: not running any more. Either way the wait below sees the end.
      const status = (err as { status?: number }).status;
      if (status !== 404 && status !== 409) throw err;
    }
  }

  /** The engine's wait answers once the container stops; if the engine drops the call, ask again. */
  async #waitForExit(): Promise<InstanceExit> {
    const { engine, clock } = this.#options;
    for (;;) {
      try {
        const res = await engine.stream(
          "POST",
          `/containers/${this.#id}/wait?condition=not-running`,
          "waiting",
        );
        let text = "";
        for await (const chunk of res) text += chunk;
        const body = JSON.parse(text) as { StatusCode?: number };
        return exitOf(body.StatusCode, body.StatusCode === 137 && (await this.#oomKilled()));
      } catch (err) {
        // Gone, or teal is shutting down and leaves the container running for the next teal.
        if ((err as { status?: number }).status === 404 || engine.closed) return { code: null, signal: null };
        await sleep(clock, WAIT_RETRY_MS);
      }
    }
  }

  /** Gives the output copy up to LOG_DRAIN_MS to catch up after the exit, then stops it. */
  async #drainLogs(): Promise<void> {
    const { clock, logsCopied, stopCopying } = this.#options;
    let timer: Timer | undefined;
    const late = new Promise<void>((resolve) => {
      timer = clock.setTimeout(() => {
        stopCopying();
        resolve();
      }, LOG_DRAIN_MS);
    });
    await Promise.race([logsCopied, late]);
    timer?.cancel();
  }

  /** Whether the engine killed the container for going over its memory limit. */
  async #oomKilled(): Promise<boolean> {
    const info = await this.#options.engine
      .jsonOrMissing<{ State?: { OOMKilled?: boolean } }>(
        "GET",
        `/containers/${this.#id}/json`,
        "inspecting a stopped container",
      )
      .catch(() => undefined);
    return info?.State?.OOMKilled === true;
  }
}

/** How an out-of-memory kill is reported, in place of the bare signal. */
export const OOM_KILLED = "SIGKILL (killed: out of memory; see resources.memory)";

/**
 * Exit statuses above 128 are a signal (128 + its number), as a shell reports them; a SIGKILL from
 * the kernel's OOM killer (the engine's State.OOMKilled) says so.
 */
export function exitOf(status: number | undefined, oomKilled = false): InstanceExit {
  if (status === undefined) return { code: null, signal: null };
  if (status === 137 && oomKilled) return { code: status, signal: OOM_KILLED };
  const signals: Record<number, string> = {
    137: "SIGKILL",
    143: "SIGTERM",
    130: "SIGINT",
    129: "SIGHUP",
    131: "SIGQUIT",
  };
  return { code: status, signal: signals[status] ?? null };
}
