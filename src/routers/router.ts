/**
 * The port to a traffic router that is not teal's own proxy (nginx, HAProxy). The controller
 * never talks to it directly: the routed data plane hands each router its service's part of the
 * spec. An adapter that cannot do something declares it in `capabilities` and refuses it.
 */

import type { RouterCapabilities, RouterKind } from "../config/capabilities.ts";
import { COLORS } from "../domain/color.ts";
import type { ServiceSpec } from "../traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../traffic/status.ts";

export interface Router {
  readonly kind: RouterKind;
  readonly capabilities: RouterCapabilities;
  /** Starts background work (e.g. watching for a router restart). No traffic moves here. */
  start(): Promise<void>;
  /**
   * Puts the service's spec in force and resolves once it is verified to be serving; rejects
   * with a TealError ROUTER_FAILED (or UNSUPPORTED) and leaves the previous routing serving.
   */
  apply(spec: ServiceSpec, generation: number): Promise<void>;
  /** Per-color counters, cumulative and never decreasing (router restarts are absorbed). */
  status(): Promise<ServiceRuntimeStatus>;
  close(): Promise<void>;
}

/**
 * The endpoints a router was given, as the status reports them: the router does its own passive
 * health, which teal does not see, so each is listed as healthy.
 */
export function routedEndpoints(spec: ServiceSpec | undefined): ServiceRuntimeStatus["endpoints"] {
  return COLORS.flatMap((color) =>
    (spec?.endpoints[color] ?? []).map((url) => ({ color, url, healthy: true, consecutiveFailures: 0 })),
  );
}
