/**
 * A cap on the slow requests one client address has at the upstreams at once (a body streamed at
 * the client's pace, a response it stopped reading), so that a few hundred slow connections from
 * one place cannot hold every upstream connection, while any number of quick ones pass. The address is the real client's (behind trusted proxies, from X-Forwarded-For);
 * when only a trusted proxy is known (it sent none), it stands for many clients and is not capped.
 */

import type { AddressList } from "../config/address-list.ts";

export class ClientLimit {
  readonly #max: number;
  readonly #exempt: AddressList;
  readonly #counts = new Map<string, number>();

  constructor(max: number, exempt: AddressList) {
    this.#max = max;
    this.#exempt = exempt;
  }

  /**
   * Counts one more request for the address. Returns the key to release when it ends, undefined
   * when the address is not counted (unknown, or a trusted proxy), false when it is at its cap.
   */
  acquire(address: string): string | undefined | false {
    if (address === "" || this.#exempt.has(address)) return undefined;
    const n = this.#counts.get(address) ?? 0;
    if (n >= this.#max) return false;
    this.#counts.set(address, n + 1);
    return address;
  }

  release(key: string): void {
    const n = this.#counts.get(key) ?? 0;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
  }
}
