/** The time source the store adapters read lease deadlines from; injected so tests control time. */

/** Wall-clock milliseconds, like `Date.now()`. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
