/**
 * Drains seen from outside: after a color loses its share, what still serves it (HAProxy's
 * current sessions on its servers; nginx's old workers, which still run the previous config) is
 * watched until it reaches zero or the deadline passes.
 */

import { COLORS, type Color } from "../domain/color.ts";
import { weightOf } from "../domain/routing.ts";
import type { ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport } from "../traffic/status.ts";

interface Watched {
  readonly startedAtMs: number;
  readonly deadlineAtMs: number;
  finishedAtMs: number | undefined;
  state: DrainReport["state"];
  forced: number;
}

export class DrainTracker {
  readonly #drains = new Map<Color, Watched>();

  start(color: Color, timeoutMs: number): void {
    const now = Date.now();
    this.#drains.set(color, {
      startedAtMs: now,
      deadlineAtMs: now + timeoutMs,
      finishedAtMs: undefined,
      state: "draining",
      forced: 0,
    });
  }

  cancel(color: Color): void {
    this.#drains.delete(color);
  }

  /** Starts a drain for each color the new spec takes all traffic from; cancels it for one that gets some back. */
  follow(before: ServiceSpec | undefined, after: ServiceSpec): void {
    for (const color of COLORS) {
      const had = before !== undefined && weightOf(before.routing, color) > 0;
      if (had && weightOf(after.routing, color) === 0) this.start(color, after.drainTimeoutMs);
      if (weightOf(after.routing, color) > 0) this.cancel(color);
    }
  }

  /** True while some drain still waits. */
  get waiting(): boolean {
    return [...this.#drains.values()].some((d) => d.state === "draining");
  }

  /** Updates every drain from the current in-flight counts and reports them. */
  reports(inFlight: (color: Color) => number): DrainReport[] {
    const now = Date.now();
    return [...this.#drains].map(([color, d]) => {
      const remaining = inFlight(color);
      if (d.state === "draining" && remaining === 0) {
        d.state = "drained";
        d.finishedAtMs = now;
      } else if (d.state === "draining" && now >= d.deadlineAtMs) {
        // The router lets them run on; teal stops waiting and says how many it left behind.
        d.state = "forced";
        d.forced = remaining;
        d.finishedAtMs = now;
      }
      return {
        color,
        state: d.state,
        startedAtMs: d.startedAtMs,
        deadlineAtMs: d.deadlineAtMs,
        finishedAtMs: d.finishedAtMs,
        remaining,
        forced: d.forced,
      };
    });
  }
}
