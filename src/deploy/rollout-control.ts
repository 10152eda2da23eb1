/**
 * The operator's hand on a running rollout: promote (this step, or all of them), abort (roll
 * back now), pause and resume. The rollout waits through `wait`, which honours all four.
 */

import { type Clock, sleep } from "../domain/clock.ts";
import type { RollbackCause } from "../domain/deployment.ts";

/** Why a rollout must roll back: an operator's abort, a failed check, a failed hook. */
export class RollbackRequest extends Error {
  constructor(
    message: string,
    /** Kept on the deployment, so history tells teal's rollbacks from an operator's. */
    readonly rollbackCause: Exclude<RollbackCause, "operator">,
    readonly actor: string,
    readonly data?: Record<string, unknown>,
    /** When the failing measurement was taken (ms), to report how fast traffic went back. */
    readonly detectedAtMs?: number,
  ) {
    super(message);
  }
}

export class RolloutControl {
  #paused = false;
  #promoted = false;
  #full = false;
  #abort: RollbackRequest | undefined;
  #wake: () => void = () => {};
  readonly #aborters: (() => void)[] = [];

  get paused(): boolean {
    return this.#paused;
  }

  /** True once `promote --full` asked to skip every remaining step. */
  get full(): boolean {
    return this.#full;
  }

  get aborted(): RollbackRequest | undefined {
    return this.#abort;
  }

  promote(full: boolean): void {
    this.#promoted = true;
    this.#full ||= full;
    this.#paused = false;
    this.#wake();
  }

  abort(request: RollbackRequest): void {
    this.#abort ??= request;
    this.#wake();
    for (const a of this.#aborters.splice(0)) a();
  }

  pause(): void {
    this.#paused = true;
    this.#wake();
  }

  resume(): void {
    this.#paused = false;
    this.#wake();
  }

  /** Rejects when a rollback request comes in (never resolves otherwise). */
  untilAborted(): Promise<never> {
    return new Promise<never>((_, reject) => {
      const poll = () => {
        if (this.#abort) reject(this.#abort);
        else this.#aborters.push(poll);
      };
      poll();
    });
  }

  /** Throws the rollback request if one came in. */
  check(): void {
    if (this.#abort) throw this.#abort;
  }

  /**
   * Waits durationMs (undefined: until promoted), then on while paused. Resolves early on
   * promote; rejects with the RollbackRequest on abort.
   */
  async wait(clock: Clock, durationMs: number | undefined): Promise<"elapsed" | "promoted"> {
    this.#promoted = false;
    let elapsed = durationMs === 0;
    const timer = new AbortController();
    if (durationMs !== undefined && durationMs > 0) {
      sleep(clock, durationMs, timer.signal).then(
        () => {
          elapsed = true;
          this.#wake();
        },
        () => {},
      );
    }
    try {
      for (;;) {
        this.check();
        if (this.#full) return "promoted";
        if (!this.#paused && (this.#promoted || elapsed)) return this.#promoted ? "promoted" : "elapsed";
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      timer.abort();
    }
  }
}
