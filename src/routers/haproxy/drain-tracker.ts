/**
 * Drains seen from outside: after a color loses its share, its in-flight count (HAProxy's current
 * sessions on that color's servers) is watched until it reaches zero or the deadline passes.
 */

import type { Color } from "../../domain/color.ts";
import type { DrainReport } from "../../proxy/drain.ts";

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

  /** Updates every drain from the current in-flight counts and reports them. */
  reports(inFlight: (color: Color) => number): DrainReport[] {
    const now = Date.now();
    return [...this.#drains].map(([color, d]) => {
      const remaining = inFlight(color);
      if (d.state === "draining" && remaining === 0) {
        d.state = "drained";
        d.finishedAtMs = now;
      } else if (d.state === "draining" && now >= d.deadlineAtMs) {
        // HAProxy lets them run on; teal stops waiting and says how many it left behind.
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
