/**
 * Drain reports held while a spec is applied. A switch finishes the old color's drain at once
 * where nothing is in flight, so its report (a log line, waiters woken) comes during the apply,
 * in process or with each worker's acknowledgement. Handled then, it held up the switch call's
 * answer; held, it is handed on once the last apply is over and its caller has gone on
 * (setImmediate: after the caller's continuation). Shared by both proxy hosts.
 */

import type { DrainReport } from "../traffic/status.ts";

export class HeldDrains {
  readonly #report: (service: string, report: DrainReport) => void;
  #applying = 0;
  #held: [string, DrainReport][] = [];

  constructor(report: (service: string, report: DrainReport) => void) {
    this.#report = report;
  }

  /** Runs `apply`, holding the reports that come meanwhile. */
  async during(apply: () => unknown): Promise<void> {
    this.#applying++;
    try {
      await apply();
    } finally {
      if (--this.#applying === 0 && this.#held.length > 0) {
        const held = this.#held;
        this.#held = [];
        setImmediate(() => {
          for (const [service, report] of held) this.#report(service, report);
        });
      }
    }
  }

  /** A drain report: handed on at once, or held while an apply is under way. */
  drained(service: string, report: DrainReport): void {
    if (this.#applying > 0) this.#held.push([service, report]);
    else this.#report(service, report);
  }
}
