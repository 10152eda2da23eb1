/** A clock that only moves when the test says so; timers fire in deadline order. */

import type { Clock, Timer } from "../../src/domain/clock.ts";

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#pending.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
      },
    };
  }

  /** Timers still waiting. */
  get pendingCount(): number {
    return this.#pending.filter((p) => !p.cancelled).length;
  }

  /**
   * Moves time forward by ms, firing due timers in order; awaits a macrotask turn after each so
   * promise chains the timer started can schedule their next timer before time moves on.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#pending
        .filter((p) => !p.cancelled && p.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#pending = this.#pending.filter((p) => p !== next);
      this.#now = next.at;
      next.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.#now = target;
    await new Promise((r) => setImmediate(r));
  }
}
