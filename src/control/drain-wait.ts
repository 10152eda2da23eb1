/**
 * Waiting for a color's drain to end, driven by the data plane's `drained` events (one per proxy
 * process and drain) rather than by polling: each event re-reads the merged status, because with
 * several workers the drain has ended only once every worker's share has. The caller's timeout
 * runs on the injected clock; it is a backstop for an event that never comes (a worker that died
 * mid-drain), since the proxy itself cuts the drain at its deadline and says so.
 */

import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";

/** Beyond a service's drain timeout, how long a waiter gives the proxy to report the cut drain. */
export const DRAIN_REPORT_SLACK_MS = 2_000;

type Waiter = (service: string, color: Color) => void;

export class DrainWaiters {
  readonly #clock: Clock;
  readonly #status: () => Promise<ServiceRuntimeStatus[]>;
  readonly #waiters = new Set<Waiter>();

  /** `status`: the data plane's merged status, read once per event a waiter cares about. */
  constructor(clock: Clock, status: () => Promise<ServiceRuntimeStatus[]>) {
    this.#clock = clock;
    this.#status = status;
  }

  /** Feed for the data plane's `drained` event. */
  readonly notify = (service: string, report: DrainReport): void => {
    for (const waiter of [...this.#waiters]) waiter(service, report.color);
  };

  /** Waiters still registered (none once every wait has resolved). */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves with the drain's report once it is no longer draining (undefined: no drain of that
   * color), or with the report as it stands after `timeoutMs` on the clock.
   */
  wait(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const current = async () =>
        (await this.#status()).find((s) => s.service === service)?.drains.find((d) => d.color === color);
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.#waiters.delete(waiter);
        deadline.cancel();
        outcome();
      };
      const check = () =>
        current().then(
          (report) => {
            if (report?.state !== "draining") settle(() => resolve(report));
          },
          (err: unknown) => settle(() => reject(err)),
        );
      const waiter: Waiter = (s, c) => {
        if (s === service && c === color) void check();
      };
      // Listening before the first read: a drain that ends in between is not missed.
      this.#waiters.add(waiter);
      const deadline = this.#clock.setTimeout(
        () =>
          void current().then(
            (report) => settle(() => resolve(report)),
            (err: unknown) => settle(() => reject(err)),
          ),
        timeoutMs,
      );
      void check();
    });
  }
}
