/** Keeps probing instances on a clock and folds each probe into their health state. */

import type { HealthConfig } from "../config/schema.ts";
import { type Clock, sleep, systemClock } from "../domain/clock.ts";
import { TealError } from "../domain/errors.ts";
import { type HealthState, INITIAL_HEALTH, nextHealth, type ProbeOutcome } from "../domain/health.ts";
import { probe as realProbe } from "./probe.ts";

export interface HealthTarget {
  /** The instance id, used in messages. */
  readonly id: string;
  /** http://host:port of the instance; health.path is appended. */
  readonly url: string;
  /** The version the instance must report (only checked when health.versionField is set). */
  readonly expectedVersion?: string;
}

export type HealthListener = (state: HealthState, previous: HealthState) => void;

/** One instance under watch. */
export interface HealthWatch {
  readonly target: HealthTarget;
  readonly state: HealthState;
  /**
   * Calls listener after every probe with the new and the previous state (a transition is a change
   * of `status`). Listeners must not throw; an error is rethrown outside the probe loop. Returns an
   * unsubscribe function.
   */
  onChange(listener: HealthListener): () => void;
  /**
   * Resolves as soon as the status is healthy (at once if it already is). Rejects with the
   * signal's reason on abort, or with NOT_HEALTHY if the watch stops first.
   */
  untilHealthy(signal?: AbortSignal): Promise<HealthState>;
  /** Ends the watch: an in-flight probe is aborted, and no probe or callback follows. Idempotent. */
  stop(): void;
}

export interface HealthMonitorOptions {
  readonly clock?: Clock;
  /** The probe to run; injectable for unit tests. */
  readonly probe?: typeof realProbe;
}

export class HealthMonitor {
  readonly #clock: Clock;
  readonly #probe: typeof realProbe;
  readonly #watches = new Set<HealthWatch>();

  constructor(options: HealthMonitorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#probe = options.probe ?? realProbe;
  }

  /**
   * Probes target at once, then health.intervalMs after each probe finished, so probes of one
   * target never overlap.
   */
  watch(target: HealthTarget, health: HealthConfig): HealthWatch {
    const watch = new Watch(target, health, this.#clock, this.#probe, () => this.#watches.delete(watch));
    this.#watches.add(watch);
    watch.start();
    return watch;
  }

  /** Stops every watch this monitor started. */
  stopAll(): void {
    for (const watch of [...this.#watches]) watch.stop();
  }
}

class Watch implements HealthWatch {
  readonly target: HealthTarget;
  readonly #health: HealthConfig;
  readonly #clock: Clock;
  readonly #probe: typeof realProbe;
  readonly #onStop: () => void;
  readonly #stopped = new AbortController();
  readonly #listeners = new Set<HealthListener>();
  #state: HealthState = INITIAL_HEALTH;

  constructor(
    target: HealthTarget,
    health: HealthConfig,
    clock: Clock,
    probe: typeof realProbe,
    onStop: () => void,
  ) {
    this.target = target;
    this.#health = health;
    this.#clock = clock;
    this.#probe = probe;
    this.#onStop = onStop;
  }

  get state(): HealthState {
    return this.#state;
  }

  start(): void {
    void this.#run();
  }

  onChange(listener: HealthListener): () => void {
    // Wrapped so that the same function can subscribe twice and unsubscribe each on its own.
    const entry: HealthListener = (state, previous) => listener(state, previous);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  untilHealthy(signal?: AbortSignal): Promise<HealthState> {
    if (this.#state.status === "healthy") return Promise.resolve(this.#state);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#stopped.signal.aborted) return Promise.reject(this.#stoppedError());
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        this.#stopped.signal.removeEventListener("abort", onStop);
      };
      const onAbort = () => {
        cleanup();
        reject(signal!.reason);
      };
      const onStop = () => {
        cleanup();
        reject(this.#stoppedError());
      };
      const unsubscribe = this.onChange((state) => {
        if (state.status !== "healthy") return;
        cleanup();
        resolve(state);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#stopped.signal.addEventListener("abort", onStop, { once: true });
    });
  }

  stop(): void {
    if (this.#stopped.signal.aborted) return;
    this.#stopped.abort(new TealError("NOT_HEALTHY", `stopped watching the health of ${this.target.id}`));
    this.#listeners.clear();
    this.#onStop();
  }

  async #run(): Promise<void> {
    const signal = this.#stopped.signal;
    while (!signal.aborted) {
      const outcome = await this.#probeOnce(signal);
      if (signal.aborted) return;
      this.#record(outcome);
      try {
        await sleep(this.#clock, this.#health.intervalMs, signal);
      } catch {
        return; // stopped while waiting
      }
    }
  }

  async #probeOnce(signal: AbortSignal): Promise<ProbeOutcome> {
    const { url, expectedVersion } = this.target;
    const now = () => this.#clock.now();
    try {
      return await this.#probe(url, this.#health, { expectedVersion, signal, now });
    } catch (err) {
      // probe() never rejects; an injected one might, and that must not end the watch.
      return {
        ok: false,
        atMs: now(),
        latencyMs: 0,
        reason: err instanceof Error ? err.message : String(err),
      };
    }
  }

  #record(outcome: ProbeOutcome): void {
    const previous = this.#state;
    this.#state = nextHealth(previous, outcome, this.#health);
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#state, previous);
      } catch (err) {
        // A broken listener must not stop the probing others rely on, nor go unnoticed.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  #stoppedError(): unknown {
    return this.#stopped.signal.reason;
  }
}
