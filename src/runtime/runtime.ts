/**
 * The runtime port: how the deployer starts, adopts and stops a color's instances. The process
 * adapter lives in ./process, the Docker adapter in ./docker; the composition root picks one per
 * service from its `runtime.type`.
 */

import type { Color } from "../domain/color.ts";
import type { InstanceRecord } from "../domain/slot.ts";

/** One instance to start. */
export interface LaunchSpec {
  readonly service: string;
  readonly color: Color;
  readonly version: string;
  /** Deployment sequence number, used in the instance id and the log header. */
  readonly deploymentSeq: number;
  readonly index: number;
  /**
   * A shell command line (run by /bin/sh -c) or an argv list (run directly). null: the image's own
   * command (docker runtime; the process runtime refuses it).
   */
  readonly command: string | readonly string[] | null;
  /** The image to run (docker runtime); null for the process runtime. */
  readonly image?: string | null;
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

/** How an instance keeps its log. */
export interface InstanceOptions {
  /** The log file moves to `<logPath>.1` once it grows past this many bytes. */
  readonly logMaxBytes: number;
}

/** What a deployment needs ready before anything is touched (an image pulled, say). */
export interface PrepareSpec {
  readonly service: string;
  readonly version: string;
  readonly image?: string | null;
}

/** The runtime port, implemented by the process and the Docker adapters. */
export interface Runtime {
  /**
   * Gets what a launch needs (pulls a missing image) and reports progress lines; rejects with a
   * TealError naming the cause when the deployment cannot start. Does not touch running instances.
   */
  prepare(spec: PrepareSpec, progress: (message: string) => void, signal?: AbortSignal): Promise<void>;
  /** Starts one instance; rejects with LAUNCH_FAILED when it cannot be started at all. */
  launch(spec: LaunchSpec, options: InstanceOptions): Promise<InstanceHandle>;
  /** A handle for an instance a previous teal started, or undefined when it is gone. */
  adopt(
    record: InstanceRecord,
    options: InstanceOptions,
  ): InstanceHandle | undefined | Promise<InstanceHandle | undefined>;
  /**
   * Removes instances of `service` this teal started that no record knows (a crash between a
   * start and its save), and names them. `known` holds the `runtimeId` of every instance teal has
   * a record of, of any service. An adapter that cannot tell services apart removes every unknown
   * instance it started: the process runtime's instances are the process groups that write into
   * its log directory, whichever service (even one gone from the config) they belong to.
   */
  removeOrphans(service: string, known: ReadonlySet<string>): Promise<string[]>;
}

/** How a runtime tells its instances apart: the container's id, else the process group's pid. */
export function runtimeId(record: InstanceRecord): string {
  return record.containerId ?? String(record.pid);
}
