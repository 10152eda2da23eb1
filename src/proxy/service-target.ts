/**
 * A service as the data plane sees it: its endpoints per color, its current routing (replaced
 * as one object, so every request reads one consistent state), traffic stats, in-flight
 * exchanges per color, drains and the pause gate.
 */

import { COLORS, type Color } from "../domain/color.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import { AddressList } from "./address-list.ts";
import { ColorStats } from "./color-stats.ts";
import { Drain, type DrainReport } from "./drain.ts";
import { Endpoint } from "./endpoint.ts";
import { EndpointGroup } from "./endpoint-group.ts";
import { type InFlight, InFlightList } from "./in-flight-list.ts";
import { PauseGate } from "./pause-gate.ts";
import type { ProxySettings, ServiceSpec } from "./spec.ts";

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
  readonly #settings: ProxySettings;
  readonly #onDrained: (service: string, report: DrainReport) => void;

  constructor(
    spec: ServiceSpec,
    settings: ProxySettings,
    onDrained: (service: string, r: DrainReport) => void,
  ) {
    this.name = spec.name;
    this.#settings = settings;
    this.#onDrained = onDrained;
    this.routing = spec.routing;
    this.policy = policyOf(spec);
    this.groups = {
      blue: this.#group(spec.endpoints.blue, []),
      green: this.#group(spec.endpoints.green, []),
    };
  }

  /** Applies a new spec; returns endpoints no longer used, for the caller to close. */
  update(spec: ServiceSpec): Endpoint[] {
    const before = this.routing;
    const old = [...this.groups.blue.endpoints, ...this.groups.green.endpoints];
    this.policy = policyOf(spec);
    this.groups = {
      blue: this.#group(spec.endpoints.blue, old),
      green: this.#group(spec.endpoints.green, old),
    };
    this.routing = spec.routing;
    this.#reconcileDrains(before, spec.routing);
    if (before.paused && !spec.routing.paused) this.gate.releaseAll();
    const kept = new Set([...this.groups.blue.endpoints, ...this.groups.green.endpoints]);
    return old.filter((e) => !kept.has(e));
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

  allEndpoints(): Endpoint[] {
    return [...this.groups.blue.endpoints, ...this.groups.green.endpoints];
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

  #group(urls: readonly string[], reuse: readonly Endpoint[]): EndpointGroup {
    return new EndpointGroup(
      urls.map((url) => reuse.find((e) => e.url === url) ?? new Endpoint(url, this.#settings)),
    );
  }
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
