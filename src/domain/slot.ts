/**
 * What runs in each color of a managed service: the version, how it was started, and its
 * instances. Persisted so that a restarted teal knows what to re-adopt, and what a rollback
 * would bring back even after the old instances were stopped.
 */

import type { Color } from "./color.ts";

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
  /** The Docker container's id (docker runtime only); pid is then the container's main process. */
  readonly containerId?: string;
}

export type SlotState = "stopped" | "starting" | "running" | "stopping";

export interface ColorSlot {
  readonly state: SlotState;
  readonly version: string | null;
  readonly deploymentSeq: number | null;
  /** The command and extra environment this version was started with (for restarts and rollbacks). */
  readonly command: string | readonly string[] | null;
  readonly env: Readonly<Record<string, string>>;
  /** The image this version runs (docker runtime); absent in records written before it existed. */
  readonly image?: string | null;
  readonly instances: readonly InstanceRecord[];
  /** Set while a previous live color is kept running for an instant rollback (ISO). */
  readonly warmUntil: string | null;
}

export type ServiceSlots = Readonly<Record<Color, ColorSlot>>;

export const EMPTY_SLOT: ColorSlot = {
  state: "stopped",
  version: null,
  deploymentSeq: null,
  command: null,
  env: {},
  instances: [],
  warmUntil: null,
};

export const EMPTY_SLOTS: ServiceSlots = { blue: EMPTY_SLOT, green: EMPTY_SLOT };

export function isServiceSlots(v: unknown): v is ServiceSlots {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return isSlot(s.blue) && isSlot(s.green);
}

function isSlot(v: unknown): v is ColorSlot {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    ["stopped", "starting", "running", "stopping"].includes(s.state as string) &&
    (s.version === null || typeof s.version === "string") &&
    Array.isArray(s.instances)
  );
}
