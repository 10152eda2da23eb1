/** Time for the controller: deadlines, intervals and backoff read it, so tests can drive time. */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds, like `Date.now()`. */
  now(): number;
  /**
   * Runs fn once after ms. A pending timer keeps the process alive, like any pending work
   * (waiting for an instance to exit is work); whoever starts timers cancels them on stop.
   */
  setTimeout(fn: () => void, ms: number): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after ms on the given clock, or rejects with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
