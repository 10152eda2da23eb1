/**
 * One color's state, with one owner: the slot record's `state` (persisted) and whether its
 * instances are restarted when they exit (in memory) move together, through the verbs the
 * runbook, the rollout and recovery call. Nothing else writes either.
 */

import type { Color } from "../domain/color.ts";
import type { ColorSlot, SlotState } from "../domain/slot.ts";

/**
 * "held": instances run but one that exits is not restarted (a deployment is still judging them,
 * or a rolled-back version waits for its scale-down). "serving": they run and are restarted.
 */
export type ColorPhase = "stopped" | "starting" | "held" | "serving" | "stopping";

const SLOT_STATE: Readonly<Record<ColorPhase, SlotState>> = {
  stopped: "stopped",
  starting: "starting",
  held: "running",
  serving: "running",
  stopping: "stopping",
};

/** What a deployment records about the version it starts on a color. */
export type StartedVersion = Pick<ColorSlot, "version" | "deploymentSeq" | "command" | "env" | "image">;

export class ColorState {
  readonly color: Color;
  readonly #slot: () => ColorSlot;
  readonly #save: (patch: Partial<ColorSlot>) => Promise<void>;
  #phase: ColorPhase;
  #retiring: Promise<boolean> | undefined;

  constructor(color: Color, slot: () => ColorSlot, save: (patch: Partial<ColorSlot>) => Promise<void>) {
    this.color = color;
    this.#slot = slot;
    this.#save = save;
    // Adopted instances are not restarted until recovery has settled what a crash left (serve()).
    const state = slot().state;
    this.#phase = state === "running" ? "held" : state;
  }

  get phase(): ColorPhase {
    return this.#phase;
  }

  /** Whether an instance that exits is restarted: only while the color serves. */
  get restarts(): boolean {
    return this.#phase === "serving";
  }

  /** A deployment starts its version here: an instance that exits fails it instead of restarting. */
  start(version: StartedVersion): Promise<void> {
    this.#phase = "starting";
    return this.#save({ state: "starting", ...version, instances: [], warmUntil: null });
  }

  /** The version runs and is kept running: an instance that exits is restarted. */
  serve(): Promise<void> {
    return this.#move("serving");
  }

  /** The version runs, but an instance that exits stays down (a canary, a rolled-back version). */
  hold(): Promise<void> {
    return this.#move("held");
  }

  /**
   * Stops the color's instances with `stop` and records that nothing runs there (the version is
   * kept). A retirement in progress is joined, not repeated; `then` runs once they are stopped.
   */
  retire(stop: () => Promise<void>, then: () => Promise<void>): Promise<boolean> {
    if (this.#retiring) return this.#retiring;
    const run = (async () => {
      const seq = this.#slot().deploymentSeq;
      this.#phase = "stopping";
      await this.#save({ state: "stopping" });
      await stop();
      // A deployment that started on this color meanwhile owns the slot now.
      if (this.#slot().deploymentSeq === seq) {
        this.#phase = "stopped";
        await this.#save({ state: "stopped", instances: [], warmUntil: null });
      }
      await then();
      return true;
    })().finally(() => {
      this.#retiring = undefined;
    });
    this.#retiring = run;
    return run;
  }

  /** The stop in progress, to join instead of checking again. */
  get retiring(): Promise<boolean> | undefined {
    return this.#retiring;
  }

  async #move(phase: "serving" | "held"): Promise<void> {
    this.#phase = phase;
    if (this.#slot().state !== SLOT_STATE[phase]) await this.#save({ state: SLOT_STATE[phase] });
  }
}
