/** Turns configuration plus routing state into the data plane's spec. */

import type { ServiceConfig, TealConfig } from "../config/schema.ts";
import type { Color } from "../domain/color.ts";
import type { RoutingState } from "../domain/routing.ts";
import type { DataPlaneSpec, ProxySettings, ServiceSpec } from "../proxy/spec.ts";

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

export function buildSpec(
  config: TealConfig,
  routing: ReadonlyMap<string, RoutingState>,
  generation: number,
  endpoints: EndpointSource = staticEndpoints(config),
): DataPlaneSpec {
  return {
    generation,
    services: Object.entries(config.services).map(([name, svc]) =>
      serviceSpec(name, svc, routing.get(name)!, {
        blue: endpoints(name, "blue"),
        green: endpoints(name, "green"),
      }),
    ),
  };
}

/** The proxy section minus what only the process host needs (the worker count, the deprecated key). */
export function proxySettings(config: TealConfig): ProxySettings {
  const { workers: _workers, trustForwardedFrom: _old, ...settings } = config.proxy;
  return settings;
}
