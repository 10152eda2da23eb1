/**
 * Turns configuration plus routing state into the data plane's spec. A service whose inputs did
 * not change keeps the very ServiceSpec object it had: data planes compare by reference, so a
 * switch of one service among 1,000 rebuilds, sends and applies that one.
 */

import type { ServiceConfig, TealConfig } from "../config/schema.ts";
import type { Color } from "../domain/color.ts";
import type { RoutingState } from "../domain/routing.ts";
import { type DataPlaneSpec, type ProxySettings, type ServiceSpec, sameStrings } from "../traffic/spec.ts";

/** Where a service's colors run: static endpoints from the config, or the instances teal started. */
export type EndpointSource = (service: string, color: Color) => readonly string[];

export const staticEndpoints =
  (config: TealConfig): EndpointSource =>
  (service, color) =>
    config.services[service]?.[color] ?? [];

export function serviceSpec(
  name: string,
  config: ServiceConfig,
  routing: RoutingState,
  endpoints: Readonly<Record<Color, readonly string[]>> = { blue: config.blue, green: config.green },
): ServiceSpec {
  return {
    name,
    routes: config.routes,
    endpoints,
    routing,
    drainTimeoutMs: config.deployment.drainTimeoutMs,
    pauseTimeoutMs: config.pauseTimeoutMs,
    override: config.override,
    sticky: config.sticky,
    allowlist: config.allowlist,
  };
}

/**
 * Builds specs one after another. `all` looks at every service (start, and after instances
 * changed); `one` rebuilds only the service a command changed, in O(1) work per service.
 */
export class SpecBuilder {
  readonly #config: TealConfig;
  readonly #endpoints: EndpointSource;
  #services: readonly ServiceSpec[] = [];
  readonly #index = new Map<string, number>();

  constructor(config: TealConfig, endpoints: EndpointSource = staticEndpoints(config)) {
    this.#config = config;
    this.#endpoints = endpoints;
  }

  /** Every configured service; one whose inputs did not change keeps its ServiceSpec object. */
  all(routing: ReadonlyMap<string, RoutingState>, generation: number): DataPlaneSpec {
    const services = Object.keys(this.#config.services).map((name) => {
      const last = this.#index.has(name) ? this.#services[this.#index.get(name)!] : undefined;
      return this.#spec(name, routing.get(name)!, last);
    });
    this.#services = services;
    this.#index.clear();
    for (const [i, s] of services.entries()) this.#index.set(s.name, i);
    return { generation, services };
  }

  /** The last spec with `service` rebuilt (its routing changed); every other object is reused. */
  one(service: string, routing: ReadonlyMap<string, RoutingState>, generation: number): DataPlaneSpec {
    const i = this.#index.get(service);
    if (i === undefined) return this.all(routing, generation);
    const services = [...this.#services];
    services[i] = this.#spec(service, routing.get(service)!, services[i]);
    this.#services = services;
    return { generation, services };
  }

  #spec(name: string, routing: RoutingState, last: ServiceSpec | undefined): ServiceSpec {
    const config = this.#config.services[name]!;
    const blue = this.#endpoints(name, "blue");
    const green = this.#endpoints(name, "green");
    if (
      last !== undefined &&
      last.routing === routing &&
      sameStrings(last.endpoints.blue, blue) &&
      sameStrings(last.endpoints.green, green)
    ) {
      return last;
    }
    return serviceSpec(name, config, routing, { blue, green });
  }
}

/** The proxy section minus what only the process host needs (the worker count, the deprecated key). */
export function proxySettings(config: TealConfig): ProxySettings {
  const { workers: _workers, trustForwardedFrom: _old, ...settings } = config.proxy;
  return settings;
}
