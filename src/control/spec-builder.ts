/** Turns configuration plus routing state into the data plane's spec. */

import type { ServiceConfig, TealConfig } from "../config/schema.ts";
import type { RoutingState } from "../domain/routing.ts";
import type { DataPlaneSpec, ProxySettings, ServiceSpec } from "../proxy/spec.ts";

export function serviceSpec(name: string, config: ServiceConfig, routing: RoutingState): ServiceSpec {
  return {
    name,
    routes: config.routes,
    endpoints: { blue: config.blue, green: config.green },
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
): DataPlaneSpec {
  return {
    generation,
    services: Object.entries(config.services).map(([name, svc]) =>
      serviceSpec(name, svc, routing.get(name)!),
    ),
  };
}

/** The proxy section minus what only the process host needs (the worker count). */
export function proxySettings(config: TealConfig): ProxySettings {
  const { workers: _workers, ...settings } = config.proxy;
  return settings;
}
