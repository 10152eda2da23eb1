/**
 * The runtime port: how the deployer starts, adopts and stops a color's instances. The process
 * adapter lives in ./process, Docker arrives in ./docker; the composition root picks one per
 * service from its `runtime.type`.
 */

import type { Color } from "../domain/color.ts";

/** What teal remembers about a running instance, so that it can re-adopt it after a crash. */
export interface InstanceRecord {
  /** Unique and stable, e.g. "web-green-7-0" (service, color, deployment sequence, index). */
  readonly id: string;
  readonly index: number;
  readonly pid: number;
  /**
   * The process start time from /proc/<pid>/stat (clock ticks since boot), so that a pid the
   * kernel reused for some other process is never mistaken for ours. null where unknown.
   */
  readonly pidStartTime: number | null;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The file the instance's stdout and stderr go to. */
  readonly logPath: string;
  /** ISO timestamp. */
  readonly startedAt: string;
}

/** One instance to start. */
export interface LaunchSpec {
  readonly service: string;
  readonly color: Color;
  readonly version: string;
  /** Deployment sequence number, used in the instance id and the log header. */
  readonly deploymentSeq: number;
  readonly index: number;
  /** A shell command line (run by /bin/sh -c) or an argv list (run directly). */
  readonly command: string | readonly string[];
  /** Absolute working directory. */
  readonly cwd: string;
  /** Extra environment on top of teal's own; PORT, TEAL_COLOR, TEAL_VERSION and DEPLOYMENT_COLOR are set by the runtime. */
  readonly env: Readonly<Record<string, string>>;
}

export interface InstanceExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** A running instance, started by this process or adopted after a restart. */
export interface InstanceHandle {
  readonly record: InstanceRecord;
  /** Resolves once when the instance has exited, however it ended. */
  readonly exited: Promise<InstanceExit>;
  alive(): boolean;
  /**
   * Sends `signal` to the instance's whole process group, waits up to timeoutMs for it to exit,
   * then SIGKILLs the group. Resolves when it is gone; idempotent.
   */
  stop(
    signal: NodeJS.Signals,
    timeoutMs: number,
  ): Promise<{ readonly forced: boolean; readonly exit: InstanceExit }>;
}
