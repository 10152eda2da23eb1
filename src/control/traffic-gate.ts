/**
 * The traffic gate: what the routing controller asks before it moves traffic. Built in the
 * composition root over what runs (the deploy side's units), so that the controller and the
 * deployer each exist without the other.
 */

import type { TealConfig } from "../config/schema.ts";
import type { Color } from "../domain/color.ts";
import { staticEndpoints } from "./spec-builder.ts";

export interface TrafficGate {
  /** Where a color runs now: the upstream URLs the proxy sends its share of traffic to. */
  endpoints(service: string, color: Color): readonly string[];
  /**
   * Health gate: why a color may not receive traffic right now, or undefined if it may.
   * Consulted for every command that gives a color traffic it did not have, unless forced.
   */
  refuseTraffic(service: string, color: Color): string | undefined;
  /** Why traffic may not be moved by hand right now (a deployment runs), or undefined. */
  busy(service: string): string | undefined;
}

/** The config's static endpoints, never refused, never busy: a controller with nothing deployed. */
export function staticTrafficGate(config: TealConfig): TrafficGate {
  const endpoints = staticEndpoints(config);
  return { endpoints, refuseTraffic: () => undefined, busy: () => undefined };
}
