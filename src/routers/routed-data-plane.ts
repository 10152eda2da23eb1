/**
 * A data plane that sends each service's part of the spec to its router (teal's own proxy, nginx
 * or HAProxy), every service the same way. Status is merged, so analysis and the API see every
 * service alike. A router failing rejects `apply` with its message when this push changed its
 * service; a router that still has an earlier change pending is retried on every push but only
 * warns, so one broken nginx never blocks commands on other services.
 */

import type { DataPlanePort } from "../control/data-plane-port.ts";
import { type Clock, sleep, systemClock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { isTealError, TealError } from "../domain/errors.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import type { Router } from "./router.ts";
import type { OwnProxy } from "./teal/own-proxy.ts";

/**
 * How often a drain is read back from a router that cannot say when it ends (nginx and HAProxy
 * drains are seen from outside: old workers, current sessions), so there is no event to wait on.
 */
const ROUTER_DRAIN_CHECK_MS = 100;

export class RoutedDataPlane implements DataPlanePort {
  readonly #listener: OwnProxy;
  readonly #routers: ReadonlyMap<string, Router>;
  /** What each router last verified, so a command on one service does not reload the others. */
  readonly #applied = new Map<string, ServiceSpec>();
  /** What each service was last asked to serve (applied or not). */
  readonly #requested = new Map<string, ServiceSpec>();
  /** The services of the previous push, by position: an unchanged one is the same object there. */
  #previous: readonly ServiceSpec[] = [];
  /** Services asked to serve a spec their router has not verified (pending or failed). */
  readonly #unsettled = new Set<string>();
  readonly #onWarning: (message: string) => void;
  readonly #clock: Clock;
  /** How many services teal's own proxy routes (router: teal). */
  readonly #ownServices: number;

  /**
   * `listener`: teal's own proxy, which listens even when every service has another router (it
   * answers 404 for them). `routers`: every service's router (TealRouter for `router: teal`).
   */
  constructor(
    listener: OwnProxy,
    routers: ReadonlyMap<string, Router>,
    onWarning: (message: string) => void = () => {},
    clock: Clock = systemClock,
  ) {
    this.#listener = listener;
    this.#routers = routers;
    this.#onWarning = onWarning;
    this.#clock = clock;
    this.#ownServices = [...routers.values()].filter((r) => r.kind === "teal").length;
  }

  async apply(spec: DataPlaneSpec): Promise<void> {
    const pushes: Promise<void>[] = [];
    // Issued in one loop: the services on teal's proxy join one swap (OwnProxy).
    const previous = this.#previous;
    this.#previous = spec.services;
    // The loop allocates nothing per unchanged service: an indexed loop (`entries()` made an
    // iterator result and an [i, s] pair each) whose body captures nothing in a closure (a
    // captured `const` made a context object each): at 1,000 services those were ~190 KB of
    // garbage per switch, a young GC in the control process every ~12 switch calls.
    for (let i = 0; i < spec.services.length; i++) {
      const s = spec.services[i]!;
      // The common case, found by identity: unchanged and in force (1 of 1,000 services switched).
      if (previous[i] === s && (this.#unsettled.size === 0 || !this.#unsettled.has(s.name))) continue;
      pushes.push(this.#request(s, spec.generation));
    }
    const results = await Promise.allSettled(pushes);
    // Services that shared one failed swap share its error: it is said once.
    const failures = [
      ...new Set(results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []))),
    ];
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new TealError("ROUTER_FAILED", failures.map((f) => (f as Error).message).join("; "), {
        cause: failures[0],
      });
    }
  }

  /**
   * teal's own services in one read of the proxy (not one promise per service: the live sampler
   * reads every second, and at 1,000 services that costs ms), then each other router's service.
   */
  async status(): Promise<ServiceRuntimeStatus[]> {
    const others = [...this.#routers.values()].filter((r) => r.kind !== "teal");
    const [own, views] = await Promise.all([
      this.#ownServices === 0 ? [] : this.#listener.views().catch(() => []),
      Promise.all(others.map((r) => r.status().catch(() => undefined))),
    ]);
    return [...own, ...views.filter((s) => s !== undefined)];
  }

  /** A router that sees its drains end is waited on; the others are read back on the clock. */
  async drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    const router = this.#routers.get(service);
    if (router === undefined) return undefined;
    if (router.drained !== undefined) return router.drained(color, timeoutMs);
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      // A router that cannot say is no drain report, as in status(): the deployment goes on.
      const status = await router.status().catch(() => undefined);
      const report = status?.drains.find((d) => d.color === color);
      const left = deadline - this.#clock.now();
      if (report?.state !== "draining" || left <= 0) return report;
      await sleep(this.#clock, Math.min(ROUTER_DRAIN_CHECK_MS, left));
    }
  }

  listenerStats(): Promise<ListenerStats> {
    return this.#listener.listenerStats();
  }

  async listen(): Promise<string> {
    await Promise.all([...this.#routers.values()].map((r) => r.start()));
    return this.#listener.listen();
  }

  tlsAddress(): string | undefined {
    return this.#listener.tlsAddress();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#routers.values()].map((r) => r.close()));
    await this.#listener.close();
  }

  /** Asks the service's router for `spec`; a failure of an earlier, unchanged request only warns. */
  #request(s: ServiceSpec, generation: number): Promise<void> {
    const requested = this.#requested.get(s.name);
    const changed = requested === undefined || !sameSpec(requested, s);
    this.#requested.set(s.name, s);
    return this.#applyTo(s, generation).catch((err: unknown) => {
      if (changed) throw err;
      this.#onWarning(`${(err as Error).message}; ${s.name}'s earlier change stays pending`);
    });
  }

  async #applyTo(spec: ServiceSpec, generation: number): Promise<void> {
    const router = this.#routers.get(spec.name);
    if (router === undefined) {
      throw new TealError(
        "INTERNAL",
        `service ${spec.name} has no router: teal builds one per configured service`,
        {
          details: { service: spec.name },
        },
      );
    }
    const applied = this.#applied.get(spec.name);
    if (applied !== undefined && sameSpec(applied, spec)) {
      this.#applied.set(spec.name, spec);
      this.#unsettled.delete(spec.name);
      return;
    }
    this.#unsettled.add(spec.name);
    try {
      await router.apply(spec, generation);
    } catch (err) {
      // Refused before anything was touched: what the router serves is still what it verified.
      if (isTealError(err, "UNSUPPORTED")) throw err;
      // Unknown: the router may be half-way; the next apply must not be skipped as unchanged.
      this.#applied.delete(spec.name);
      if (isTealError(err)) throw err;
      throw new TealError(
        "ROUTER_FAILED",
        `${router.kind} router of ${spec.name} failed: ${(err as Error).message}`,
        { cause: err, details: { service: spec.name } },
      );
    }
    this.#applied.set(spec.name, spec);
    // A later push may have asked for another spec meanwhile: that one is not verified yet.
    if (this.#requested.get(spec.name) === spec) this.#unsettled.delete(spec.name);
  }
}

/**
 * Equal content: a command that changed nothing (the same routing, anew) moves no router. A
 * switch changes the routing, which is told apart without serializing the whole spec.
 */
function sameSpec(a: ServiceSpec, b: ServiceSpec): boolean {
  if (a === b) return true;
  const [x, y] = [a.routing, b.routing];
  if (x.live !== y.live || x.greenPercent !== y.greenPercent || x.paused !== y.paused) return false;
  return x.maintenance === y.maintenance && JSON.stringify(a) === JSON.stringify(b);
}
