/**
 * What a data plane reports back to the control plane: per service, the generation in force,
 * the held requests, the drains of the colors that stopped taking traffic, the endpoints' health
 * and the per-color counters. Plain data, so it can cross a process boundary and be merged; teal's
 * own proxy and the external routers (nginx, HAProxy) produce the same shape.
 */

import type { Color } from "../domain/color.ts";
import type { ColorStatsSnapshot } from "./color-stats.ts";

export type DrainState = "draining" | "drained" | "forced";

/** A color that stopped receiving new traffic: its in-flight requests finishing, or cut at the deadline. */
export interface DrainReport {
  readonly color: Color;
  readonly state: DrainState;
  readonly startedAtMs: number;
  readonly deadlineAtMs: number;
  readonly finishedAtMs: number | undefined;
  /** Requests still running on the old color. */
  readonly remaining: number;
  /** Requests cut at the deadline. */
  readonly forced: number;
}

export interface ServiceRuntimeStatus {
  readonly service: string;
  /** The data plane's generation when this view last changed. */
  readonly generation: number;
  readonly held: number;
  readonly drains: DrainReport[];
  readonly endpoints: { color: Color; url: string; healthy: boolean; consecutiveFailures: number }[];
  readonly stats: Record<Color, ColorStatsSnapshot>;
}
