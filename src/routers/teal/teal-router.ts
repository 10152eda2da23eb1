/**
 * teal's own proxy as the Router of one service. Several services share the proxy (OwnProxy):
 * their applies of one push become one swap. It can do everything the spec asks (pause, the
 * override header, sticky keys, weights), and its drains end by event, not by reading back.
 */

import { CAPABILITIES } from "../../config/capabilities.ts";
import type { Color } from "../../domain/color.ts";
import { TealError } from "../../domain/errors.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../../traffic/status.ts";
import { type Router, refusal } from "../router.ts";
import type { OwnProxy } from "./own-proxy.ts";

export class TealRouter implements Router {
  readonly kind = "teal" as const;
  readonly capabilities = CAPABILITIES.teal;
  readonly #service: string;
  readonly #proxy: OwnProxy;

  constructor(service: string, proxy: OwnProxy) {
    this.#service = service;
    this.#proxy = proxy;
  }

  async start(): Promise<void> {}

  /** A spec the proxy could not serve is refused here, before it joins a push with others. */
  async apply(spec: ServiceSpec, generation: number): Promise<void> {
    const refused = refusal(spec, this.kind, this.capabilities);
    if (refused !== undefined) throw refused;
    const bad = badEndpoint(spec);
    if (bad !== undefined) {
      throw new TealError(
        "ROUTER_FAILED",
        `teal router of ${spec.name}: endpoint ${JSON.stringify(bad)} is not a plain http:// URL with a host and port (e.g. http://127.0.0.1:9001); the proxy keeps the previous routing`,
        { details: { service: spec.name } },
      );
    }
    await this.#proxy.apply(spec, generation);
  }

  async status(): Promise<ServiceRuntimeStatus> {
    const view = await this.#proxy.status(this.#service);
    if (view === undefined) {
      throw new TealError(
        "ROUTER_FAILED",
        `teal's proxy has no view of ${this.#service}: no spec applied yet`,
        {
          details: { service: this.#service },
        },
      );
    }
    return view;
  }

  drained(color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    return this.#proxy.drained(this.#service, color, timeoutMs);
  }

  /** The proxy is shared: the routed data plane that listens on it closes it. */
  async close(): Promise<void> {}
}

function badEndpoint(spec: ServiceSpec): string | undefined {
  for (const url of [...spec.endpoints.blue, ...spec.endpoints.green]) {
    if (!URL.canParse(url)) return url;
    const u = new URL(url);
    if (u.protocol !== "http:" || u.hostname === "") return url;
  }
  return undefined;
}
