/** The endpoints of one color: round-robin over the available ones. */

import type { Endpoint } from "./endpoint.ts";

export class EndpointGroup {
  readonly endpoints: readonly Endpoint[];
  #next = 0;

  constructor(endpoints: readonly Endpoint[]) {
    this.endpoints = endpoints;
  }

  get size(): number {
    return this.endpoints.length;
  }

  /**
   * The next available endpoint other than `exclude`. When every endpoint is backing off, the
   * one whose back-off ends first is probed rather than failing the request outright.
   */
  pick(nowMs: number, exclude?: Endpoint): Endpoint | undefined {
    const n = this.endpoints.length;
    let fallback: Endpoint | undefined;
    for (let i = 0; i < n; i++) {
      const candidate = this.endpoints[(this.#next + i) % n]!;
      if (candidate === exclude) continue;
      if (candidate.isAvailable(nowMs)) {
        this.#next = (this.#next + i + 1) % n;
        return candidate;
      }
      if (fallback === undefined || candidate.downUntilMs < fallback.downUntilMs) fallback = candidate;
    }
    return fallback;
  }
}
