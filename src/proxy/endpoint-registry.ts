/**
 * One Endpoint (keep-alive pool plus passive health) per upstream address, shared by every
 * service and color that lists it. With 1,000 services on one backend, a request for any of them
 * finds a warm connection, where one pool per service would open and hold its own (and keep
 * reconnecting, as each sees only a thousandth of the traffic). Counted: an address no service
 * lists any more is handed back for closing.
 */

import type { ProxySettings } from "../traffic/spec.ts";
import { Endpoint } from "./endpoint.ts";
import type { ProxyEngine } from "./engine.ts";

export class EndpointRegistry {
  readonly #settings: ProxySettings;
  readonly #engine: ProxyEngine;
  readonly #byAddress = new Map<string, { readonly endpoint: Endpoint; users: number }>();

  constructor(settings: ProxySettings, engine: ProxyEngine) {
    this.#settings = settings;
    this.#engine = engine;
  }

  /** The endpoint for `url`'s host and port, counted once more in use. */
  acquire(url: string): Endpoint {
    const address = addressOf(url);
    const entry = this.#byAddress.get(address);
    if (entry !== undefined) {
      entry.users++;
      return entry.endpoint;
    }
    const endpoint = new Endpoint(url, this.#settings, this.#engine);
    this.#byAddress.set(address, { endpoint, users: 1 });
    return endpoint;
  }

  /** Counts one use less; true when nobody uses the endpoint any more (the caller closes it). */
  release(endpoint: Endpoint): boolean {
    const address = addressOf(endpoint.url);
    const entry = this.#byAddress.get(address);
    if (entry === undefined || entry.endpoint !== endpoint) return false;
    if (--entry.users > 0) return false;
    this.#byAddress.delete(address);
    return true;
  }

  all(): Endpoint[] {
    return [...this.#byAddress.values()].map((e) => e.endpoint);
  }
}

/** host:port as the pool connects to it: the URL spelling (case, a default :80) does not split a pool. */
function addressOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 80}`;
}
