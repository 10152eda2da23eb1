/**
 * A data plane that sends each service's part of the spec to its router: teal's own proxy for
 * most services, nginx or HAProxy for those that name one. Status is merged, so analysis and
 * the API see every service the same way. A router failing rejects `apply` with its message when
 * this push changed its service; a router that still has an earlier change pending is retried on
 * every push but only warns, so one broken nginx never blocks commands on other services.
 */

import type { DataPlanePort } from "../control/data-plane-port.ts";
import { type Clock, sleep, systemClock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { isTealError, TealError } from "../domain/errors.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import type { Router } from "./router.ts";

/**
 * How often a routed service's drain is read back. nginx and HAProxy drains are seen from
 * outside (old workers, current sessions), so there is no event to wait on, only a read.
 */
const ROUTER_DRAIN_CHECK_MS = 100;

export class RoutedDataPlane implements DataPlanePort {
  readonly #own: DataPlanePort;
  readonly #routers: ReadonlyMap<string, Router>;
  /** What each router last verified, so a command on one service does not reload the others. */
  readonly #applied = new Map<string, string>();
  /** What each routed service was last asked to serve (applied or not). */
  readonly #requested = new Map<string, string>();
  readonly #onWarning: (message: string) => void;
  readonly #clock: Clock;

  /** `routers`: service name -> its router; every other service goes to `own`. */
  constructor(
    own: DataPlanePort,
    routers: ReadonlyMap<string, Router>,
    onWarning: (message: string) => void = () => {},
    clock: Clock = systemClock,
  ) {
    this.#own = own;
    this.#routers = routers;
    this.#onWarning = onWarning;
    this.#clock = clock;
  }

  async apply(spec: DataPlaneSpec): Promise<void> {
    const mine = spec.services.filter((s) => !this.#routers.has(s.name));
    const routed = spec.services.filter((s) => this.#routers.has(s.name));
    const results = await Promise.allSettled([
      this.#own.apply({ generation: spec.generation, services: mine }),
      ...routed.map((s) => {
        const key = JSON.stringify(s);
        const changed = this.#requested.get(s.name) !== key;
        this.#requested.set(s.name, key);
        return this.#applyRouted(s, spec.generation, key).catch((err: unknown) => {
          if (changed) throw err;
          this.#onWarning(`${(err as Error).message}; ${s.name}'s earlier change stays pending`);
        });
      }),
    ]);
    const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new TealError("ROUTER_FAILED", failures.map((f) => (f as Error).message).join("; "), {
        cause: failures[0],
      });
    }
  }

  async status(): Promise<ServiceRuntimeStatus[]> {
    const routed = await Promise.all(
      [...this.#routers.values()].map((r) => r.status().catch(() => undefined)),
    );
    const own = await this.#own.status();
    return [...own, ...routed.filter((s) => s !== undefined)];
  }

  /** teal's own services wait on its drain events; a routed service's drain is read back from its router. */
  async drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    const router = this.#routers.get(service);
    if (router === undefined) return this.#own.drained(service, color, timeoutMs);
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
    return this.#own.listenerStats();
  }

  /** teal's proxy listens even when every service has its own router: it answers 404 for them. */
  async listen(): Promise<string> {
    await Promise.all([...this.#routers.values()].map((r) => r.start()));
    return this.#own.listen();
  }

  tlsAddress(): string | undefined {
    return this.#own.tlsAddress?.();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#routers.values()].map((r) => r.close()));
    await this.#own.close();
  }

  async #applyRouted(spec: ServiceSpec, generation: number, key: string): Promise<void> {
    if (this.#applied.get(spec.name) === key) return;
    const router = this.#routers.get(spec.name)!;
    if (spec.routing.paused && !router.capabilities.pause) {
      throw new TealError(
        "UNSUPPORTED",
        `service ${spec.name} is routed by ${router.kind}, which cannot hold requests: resume it, or use router: teal to pause`,
        { details: { service: spec.name } },
      );
    }
    try {
      await router.apply(spec, generation);
    } catch (err) {
      // Unknown: the router may be half-way; the next apply must not be skipped as unchanged.
      this.#applied.delete(spec.name);
      if (isTealError(err)) throw err;
      throw new TealError(
        "ROUTER_FAILED",
        `${router.kind} router of ${spec.name} failed: ${(err as Error).message}`,
        {
          cause: err,
          details: { service: spec.name },
        },
      );
    }
    this.#applied.set(spec.name, key);
  }
}
