/**
 * The port to a traffic router: teal's own proxy, nginx or HAProxy. One Router serves one
 * service; the controller never talks to it directly: the routed data plane hands each router
 * its service's part of the spec. An adapter that cannot do something declares it in
 * `capabilities` and refuses it (`refusal`), never silently ignores it.
 */

import type { RouterCapabilities, RouterKind } from "../config/capabilities.ts";
import { COLORS, type Color } from "../domain/color.ts";
import { TealError } from "../domain/errors.ts";
import type { ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";

export interface Router {
  readonly kind: RouterKind;
  readonly capabilities: RouterCapabilities;
  /** Starts background work (e.g. watching for a router restart). No traffic moves here. */
  start(): Promise<void>;
  /**
   * Puts the service's spec in force and resolves once it is verified to be serving; rejects
   * with a TealError ROUTER_FAILED (or UNSUPPORTED, before touching anything) and leaves the
   * previous routing serving.
   */
  apply(spec: ServiceSpec, generation: number): Promise<void>;
  /** Per-color counters, cumulative and never decreasing (router restarts are absorbed). */
  status(): Promise<ServiceRuntimeStatus>;
  /**
   * Resolves once the color's drain has ended (undefined: it has none), woken by the router's own
   * events; after `timeoutMs`, with the report as it stands. Only a router that sees its drains
   * end has it (teal's proxy); the others are read back through `status()`.
   */
  drained?(color: Color, timeoutMs: number): Promise<DrainReport | undefined>;
  close(): Promise<void>;
}

/**
 * What in `spec` the router cannot do, as the UNSUPPORTED error its `apply` rejects with before
 * touching anything; undefined when it can do all of it. The config check refuses most of these
 * at load (capabilities.ts); a pause reaches the router at run time.
 */
export function refusal(spec: ServiceSpec, kind: RouterKind, can: RouterCapabilities): TealError | undefined {
  const refuse = (message: string) =>
    new TealError("UNSUPPORTED", `service ${spec.name} is routed by ${kind}, which ${message}`, {
      details: { service: spec.name },
    });
  if (spec.routing.paused && !can.pause) {
    return refuse("cannot hold requests: resume it, or use router: teal to pause");
  }
  if (spec.allowlist.length > 0 && !can.allowlist) {
    return refuse("cannot send allowlisted users to the new color: remove allowlist, or use router: teal");
  }
  if (spec.sticky !== undefined && !can.sticky) {
    return refuse("cannot keep users on one color: remove sticky, or use router: teal");
  }
  if (spec.sticky?.setCookie && !can.stickySetCookie) {
    return refuse("cannot hand out sticky cookies: set sticky.setCookie: false, or use router: teal");
  }
  return undefined;
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
