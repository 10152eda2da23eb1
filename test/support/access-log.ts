/** Collects the data plane's access log so a test can wait for the entry it expects. */

import type { AccessEntry } from "../../src/proxy/exchange.ts";

export class AccessLogRecorder {
  readonly entries: AccessEntry[] = [];
  readonly #waiters: { match: (e: AccessEntry) => boolean; resolve: (e: AccessEntry) => void }[] = [];

  /** Pass as `events.accessLog` to `startDataPlane`. */
  readonly record = (entry: AccessEntry): void => {
    this.entries.push(entry);
    for (const w of [...this.#waiters]) {
      if (w.match(entry)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  };

  /** Resolves with the first entry, already logged or still to come, that matches. */
  waitFor(match: (e: AccessEntry) => boolean): Promise<AccessEntry> {
    const seen = this.entries.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}
