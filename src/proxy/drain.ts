/**
 * Draining a color that stopped receiving new traffic: the requests that were in flight on it
 * at the switch finish on it; past the deadline the rest are cut and counted.
 */

import type { Color } from "../domain/color.ts";
import type { DrainReport, DrainState } from "../traffic/status.ts";
import type { InFlight } from "./in-flight-list.ts";

export class Drain {
  readonly color: Color;
  readonly #pending: Set<InFlight>;
  readonly #startedAt: number;
  readonly #deadlineAt: number;
  readonly #onDone: (report: DrainReport) => void;
  #state: DrainState = "draining";
  #forced = 0;
  #finishedAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  /**
   * The last report, handed out again while nothing changed: a finished drain stays on its
   * service until the color takes traffic again, and a new report per status read made every
   * service ever switched look changed to the once-a-second reader (see DataPlane.status).
   */
  #report: DrainReport | undefined;

  constructor(
    color: Color,
    inFlight: Iterable<InFlight>,
    timeoutMs: number,
    onDone: (r: DrainReport) => void,
  ) {
    this.color = color;
    this.#pending = new Set(inFlight);
    this.#startedAt = Date.now();
    this.#deadlineAt = this.#startedAt + timeoutMs;
    this.#onDone = onDone;
    if (this.#pending.size === 0) this.#finish("drained");
    else this.#timer = setTimeout(() => this.#expire(), timeoutMs).unref();
  }

  /** Called when an exchange on this color ends. */
  settle(exchange: InFlight): void {
    if (!this.#pending.delete(exchange)) return;
    this.#report = undefined;
    if (this.#pending.size === 0 && this.#state === "draining") this.#finish("drained");
  }

  /** Stops tracking without cutting anything (the color receives traffic again). */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#pending.clear();
    this.#report = undefined;
  }

  /** The same object for as long as the drain does not change. */
  report(): DrainReport {
    this.#report ??= {
      color: this.color,
      state: this.#state,
      startedAtMs: this.#startedAt,
      deadlineAtMs: this.#deadlineAt,
      finishedAtMs: this.#finishedAt,
      remaining: this.#pending.size,
      forced: this.#forced,
    };
    return this.#report;
  }

  #expire(): void {
    if (this.#state !== "draining") return;
    const cut = [...this.#pending];
    this.#forced = cut.length;
    this.#pending.clear();
    this.#report = undefined;
    this.#finish("forced");
    for (const exchange of cut) exchange.forceClose();
  }

  #finish(state: DrainState): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#state = state;
    this.#finishedAt = Date.now();
    this.#report = undefined;
    this.#onDone(this.report());
  }
}
