/**
 * A proxy worker's side of status reads with a cursor: which services' runtime views changed
 * since a given read. The control process asks once a second (the live sampler) and more often
 * during drains; with 1,000 services, sending every view each time cost ~700 KB of JSON per
 * worker per read, parsed in the control process while a switch call waited. Now a read sends
 * only the views that changed since the reader's cursor, and nothing for an idle service.
 */

import type { ServiceRuntimeStatus } from "../traffic/status.ts";

/** One read's answer: pass `cursor` back as `since` next time. */
export interface StatusDelta {
  readonly cursor: number;
  /** Views that changed after `since`; every view when read without one. */
  readonly changed: readonly ServiceRuntimeStatus[];
  /** Every service's name, in order: only when the set of services changed after `since`. */
  readonly names?: readonly string[];
}

export class StatusLog {
  /** Number of the latest read; a view that changed at read n is sent to readers with since < n. */
  #read = 0;
  readonly #seen = new Map<string, { status: ServiceRuntimeStatus; at: number }>();
  #names: readonly string[] = [];
  #namesAt = 0;

  /**
   * `current` is the data plane's status(), which hands out the same object for a view that did
   * not change: identity is the whole comparison.
   */
  read(current: readonly ServiceRuntimeStatus[], since?: number): StatusDelta {
    const at = ++this.#read;
    for (const s of current) {
      const seen = this.#seen.get(s.service);
      if (seen === undefined) this.#seen.set(s.service, { status: s, at });
      else if (seen.status !== s) {
        seen.status = s;
        seen.at = at;
      }
    }
    if (!sameNames(this.#names, current)) {
      this.#names = current.map((s) => s.service);
      this.#namesAt = at;
      const present = new Set(this.#names);
      for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    }
    if (since === undefined || since > at) return { cursor: at, changed: current, names: this.#names };
    return {
      cursor: at,
      changed: current.filter((s) => this.#seen.get(s.service)!.at > since),
      ...(this.#namesAt > since ? { names: this.#names } : {}),
    };
  }
}

function sameNames(names: readonly string[], current: readonly ServiceRuntimeStatus[]): boolean {
  return names.length === current.length && current.every((s, i) => names[i] === s.service);
}
