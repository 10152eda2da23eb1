/**
 * A service as the data plane sees it: its endpoints per color, its current routing (replaced
 * as one object, so every request reads one consistent state), traffic stats, in-flight
 * exchanges per color, drains and the pause gate. Its endpoints come from the data plane's
 * EndpointRegistry: services that list the same address share one pool, while stats, in-flight
 * lists and drains stay per service.
 */

import { AddressList } from "../config/address-list.ts";
import { COLORS, type Color } from "../domain/color.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import { ColorStats } from "../traffic/color-stats.ts";
import { type ServiceSpec, sameStrings } from "../traffic/spec.ts";
import type { DrainReport } from "../traffic/status.ts";
import { Drain } from "./drain.ts";
import type { Endpoint } from "./endpoint.ts";
import { EndpointGroup } from "./endpoint-group.ts";
import type { EndpointRegistry } from "./endpoint-registry.ts";
import { type InFlight, InFlightList } from "./in-flight-list.ts";
import { PauseGate } from "./pause-gate.ts";

export interface ServicePolicy {
  readonly overrideHeader: string | undefined;
  readonly overrideFrom: AddressList;
  readonly stickyCookie: string | undefined;
  readonly stickyHeader: string | undefined;
  readonly setStickyCookie: boolean;
  readonly allowlist: ReadonlySet<string>;
  readonly drainTimeoutMs: number;
  readonly pauseTimeoutMs: number;
}

export class ServiceTarget {
  readonly name: string;
  routing: RoutingState;
  policy: ServicePolicy;
  groups: Record<Color, EndpointGroup>;
  readonly stats: Record<Color, ColorStats> = { blue: new ColorStats(), green: new ColorStats() };
  readonly inFlight: Record<Color, InFlightList> = { blue: new InFlightList(), green: new InFlightList() };
  readonly drains = new Map<Color, Drain>();
  readonly gate = new PauseGate();
  /** The spec in force: a data plane hands the same object again for a service that did not change. */
  spec: ServiceSpec;
  readonly #registry: EndpointRegistry;
  /** Every endpoint this service holds in the registry, by the URL it lists. */
  #held = new Map<string, Endpoint>();
  readonly #onDrained: (service: string, report: DrainReport) => void;

  constructor(
    spec: ServiceSpec,
    registry: EndpointRegistry,
    onDrained: (service: string, r: DrainReport) => void,
  ) {
    this.name = spec.name;
    this.spec = spec;
    this.#registry = registry;
    this.#onDrained = onDrained;
    this.routing = spec.routing;
    this.policy = policyOf(spec);
    this.groups = this.#groups(spec);
  }

  /**
   * Applies a new spec; returns the endpoints this service let go of, for the caller to release
   * from the registry once every service is updated (so an address moving between services in
   * one spec keeps its pool).
   */
  update(spec: ServiceSpec): Endpoint[] {
    const before = this.routing;
    const old = this.#held;
    if (!samePolicy(this.spec, spec)) this.policy = policyOf(spec);
    if (!sameEndpoints(this.spec, spec)) this.groups = this.#groups(spec);
    this.spec = spec;
    this.routing = spec.routing;
    this.#reconcileDrains(before, spec.routing);
    if (before.paused && !spec.routing.paused) this.gate.releaseAll();
    return [...old].flatMap(([url, e]) => (this.#held.get(url) === e ? [] : [e]));
  }

  /** The service is gone from the spec: every endpoint it held, for the caller to release. */
  retire(): Endpoint[] {
    this.gate.shedAll();
    const held = [...this.#held.values()];
    this.#held = new Map();
    return held;
  }

  /** Called by an exchange or tunnel when it starts on a color. */
  track(color: Color, exchange: InFlight): void {
    this.inFlight[color].add(exchange);
  }

  /** Called by an exchange when it ends (or moves to another color), whatever the outcome. */
  settle(color: Color, exchange: InFlight): void {
    this.inFlight[color].remove(exchange);
    this.drains.get(color)?.settle(exchange);
  }

  drainReports(): DrainReport[] {
    return [...this.drains.values()].map((d) => d.report());
  }

  /** Why ordering matters: the drain snapshot is taken after the new routing is in place. */
  #reconcileDrains(before: RoutingState, after: RoutingState): void {
    for (const color of COLORS) {
      const was = weightOf(before, color) > 0;
      const now = weightOf(after, color) > 0;
      if (was && !now) {
        this.drains.get(color)?.cancel();
        const drain = new Drain(color, this.inFlight[color].toArray(), this.policy.drainTimeoutMs, (r) =>
          this.#onDrained(this.name, r),
        );
        this.drains.set(color, drain);
      } else if (!was && now) {
        this.drains.get(color)?.cancel();
        this.drains.delete(color);
      }
    }
  }

  /** Endpoints for the spec's URLs: the ones already held are kept, new ones taken from the registry. */
  #groups(spec: ServiceSpec): Record<Color, EndpointGroup> {
    const before = this.#held;
    const held = new Map<string, Endpoint>();
    const take = (url: string): Endpoint => {
      let e = held.get(url);
      if (e === undefined) {
        e = before.get(url) ?? this.#registry.acquire(url);
        held.set(url, e);
      }
      return e;
    };
    const groups = {
      blue: new EndpointGroup(spec.endpoints.blue.map(take)),
      green: new EndpointGroup(spec.endpoints.green.map(take)),
    };
    this.#held = held;
    return groups;
  }
}

function sameEndpoints(a: ServiceSpec, b: ServiceSpec): boolean {
  return sameStrings(a.endpoints.blue, b.endpoints.blue) && sameStrings(a.endpoints.green, b.endpoints.green);
}

/** Building a policy parses address ranges: skipped when a spec changes only the routing. */
function samePolicy(a: ServiceSpec, b: ServiceSpec): boolean {
  return (
    a.drainTimeoutMs === b.drainTimeoutMs &&
    a.pauseTimeoutMs === b.pauseTimeoutMs &&
    sameStrings(a.allowlist, b.allowlist) &&
    JSON.stringify(a.override) === JSON.stringify(b.override) &&
    JSON.stringify(a.sticky) === JSON.stringify(b.sticky)
  );
}

function policyOf(spec: ServiceSpec): ServicePolicy {
  return {
    overrideHeader: spec.override ? spec.override.header : undefined,
    overrideFrom: new AddressList(spec.override ? spec.override.allowFrom : []),
    stickyCookie: spec.sticky?.cookie,
    stickyHeader: spec.sticky?.header,
    setStickyCookie: spec.sticky?.setCookie ?? false,
    allowlist: new Set(spec.allowlist),
    drainTimeoutMs: spec.drainTimeoutMs,
    pauseTimeoutMs: spec.pauseTimeoutMs,
  };
}
