/**
 * The control plane for traffic: applies operator commands to a service's routing. Every
 * command runs the same steps: check it against the service, persist it (compare-and-swap),
 * then push the new spec to the data plane and wait until it is in force everywhere. Persisting
 * first means an acknowledged command survives a crash; a crash between the two steps is healed
 * at start, which serves whatever the store holds.
 */

import type { TealConfig } from "../config/schema.ts";
import { COLORS } from "../domain/color.ts";
import { isTealError, TealError } from "../domain/errors.ts";
import { applyRoutingCommand, type RoutingCommand, type RoutingState, weightOf } from "../domain/routing.ts";
import type { DataPlanePort } from "./data-plane-port.ts";
import type { RoutingRepository } from "./routing-repository.ts";
import { type EndpointSource, SpecBuilder } from "./spec-builder.ts";
import { staticTrafficGate, type TrafficGate } from "./traffic-gate.ts";

export interface RoutingChange {
  readonly service: string;
  readonly before: RoutingState;
  readonly after: RoutingState;
  readonly generation: number;
  /** On a fleet: the nodes that did not serve the change by the deadline ([] when all did). */
  readonly lagging?: readonly { readonly node: string; readonly revision: number }[];
}

export interface RoutingControllerOptions {
  readonly config: TealConfig;
  readonly repository: RoutingRepository;
  readonly dataPlane: DataPlanePort;
  /** Where each color runs, its health gate, and whether a deployment holds it; default: the config's static endpoints. */
  readonly gate?: TrafficGate;
  readonly onChange?: (change: RoutingChange & { actor: string }) => void;
  readonly onWarning?: (message: string) => void;
  /**
   * On a fleet: resolves once every live node serves the routing write at `revision`, or at a
   * deadline with the nodes that lag. The write has happened either way, so it is not an error.
   */
  readonly acknowledge?: (revision: number) => Promise<readonly { node: string; revision: number }[]>;
}

export interface CommandOptions {
  /** Who asked: "cli", "api", "teal". */
  readonly actor?: string;
  /** Skip the health gate. */
  readonly force?: boolean;
  /** Set when a deployment issues the command; others may not move traffic during one. */
  readonly deployment?: number;
}

export class RoutingController {
  readonly #options: RoutingControllerOptions;
  readonly #gate: TrafficGate;
  readonly #endpoints: EndpointSource;
  readonly #routing = new Map<string, RoutingState>();
  readonly #revisions = new Map<string, number>();
  /** The revision of the last record another server wrote and this one followed (a delete has no modRevision). */
  readonly #followed = new Map<string, number>();
  readonly #specs: SpecBuilder;
  #generation = 0;
  #started = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: RoutingControllerOptions) {
    this.#options = options;
    this.#gate = options.gate ?? staticTrafficGate(options.config);
    this.#endpoints = (service, color) => this.#gate.endpoints(service, color);
    this.#specs = new SpecBuilder(options.config, this.#endpoints);
  }

  get config(): TealConfig {
    return this.#options.config;
  }

  /** Loads the last routing of every configured service and puts it in force. */
  async start(): Promise<void> {
    this.#started = true;
    const names = Object.keys(this.config.services);
    const records = await this.#options.repository.loadAll(names);
    for (const name of names) {
      const stored = records.get(name)!;
      if (stored.corrupt !== undefined) {
        this.#options.onWarning?.(`routing record of ${name} is unreadable; serving the default (blue)`);
      }
      this.#routing.set(name, stored.state);
      this.#revisions.set(name, stored.revision);
    }
    // An unreachable external router must not keep teal from starting: it gets the spec on the
    // next command (HAProxy's adapter also retries by itself). Nor may a stored state the router
    // cannot serve (paused, then the config moved the service to nginx or HAProxy): the router
    // keeps what it served, and the operator resumes. teal's own proxy never fails here.
    await this.#push().catch((err) => {
      if (isTealError(err, "ROUTER_FAILED")) {
        this.#options.onWarning?.(`${err.message}; teal starts anyway and retries on the next change`);
      } else if (isTealError(err, "UNSUPPORTED")) {
        this.#options.onWarning?.(`${err.message}; teal starts anyway`);
      } else {
        throw err;
      }
    });
  }

  routing(service: string): RoutingState {
    const state = this.#routing.get(service);
    if (!state) throw serviceNotFound(service, Object.keys(this.config.services));
    return state;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Applies one command; resolves when it is persisted and in force in every proxy process. */
  command(service: string, command: RoutingCommand, options: CommandOptions = {}): Promise<RoutingChange> {
    return this.#serialized(() => this.#run(service, command, options));
  }

  /**
   * Pushes a fresh spec (e.g. after instances changed ports); resolves when it is in force.
   * Before start() there is nothing in force to refresh: start pushes the first spec.
   */
  refresh(): Promise<void> {
    if (!this.#started) return Promise.resolve();
    return this.#serialized(() => this.#push());
  }

  /**
   * On a fleet: another server wrote this service's routing record at `revision`. Applied in turn
   * with this server's own commands (so a command never builds on a state older than one already
   * in force), and only if newer than what this server wrote or followed last: its own writes come
   * back through the same watch. `modRevision` is the record's (0 once it was deleted), the handle
   * for the next compare-and-swap. Resolves true when the state was put in force.
   */
  follow(service: string, state: RoutingState, revision: number, modRevision = revision): Promise<boolean> {
    if (!this.#routing.has(service)) return Promise.resolve(false);
    return this.#serialized(async () => {
      if (revision <= Math.max(this.#revisions.get(service) ?? 0, this.#followed.get(service) ?? 0)) {
        return false;
      }
      const before = this.routing(service);
      this.#followed.set(service, revision);
      this.#revisions.set(service, modRevision);
      this.#routing.set(service, state);
      await this.#push(service);
      this.#options.onChange?.({
        service,
        before,
        after: state,
        generation: this.#generation,
        actor: "fleet",
      });
      return true;
    });
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #run(service: string, command: RoutingCommand, options: CommandOptions): Promise<RoutingChange> {
    const actor = options.actor ?? "api";
    const before = this.routing(service);
    const after = applyRoutingCommand(before, command);
    const movesTraffic = command.kind === "switch" || command.kind === "split";
    const busy = movesTraffic && options.deployment === undefined ? this.#gate.busy(service) : undefined;
    if (busy !== undefined) throw new TealError("DEPLOYMENT_RUNNING", busy, { details: { service } });
    this.#checkEndpoints(service, after);
    if (!options.force) this.#checkHealth(service, before, after);
    const revision = await this.#options.repository.save(service, after, this.#revisions.get(service) ?? 0);
    this.#revisions.set(service, revision);
    this.#routing.set(service, after);
    try {
      await this.#push(service);
    } catch (err) {
      await this.#revert(service, before);
      throw err;
    }
    const change = { service, before, after, generation: this.#generation };
    this.#options.onChange?.({ ...change, actor });
    // In force here; on a fleet the caller also waits for the other nodes (the next command too).
    const lagging = await this.#options.acknowledge?.(revision);
    if (lagging !== undefined && lagging.length > 0) {
      this.#options.onWarning?.(
        `routing of ${service} at revision ${revision} is not yet served by ${lagging.map((n) => n.node).join(", ")}`,
      );
    }
    return lagging === undefined ? change : { ...change, lagging };
  }

  #checkEndpoints(service: string, state: RoutingState): void {
    const managed = this.config.services[service]!.runtime.type !== "static";
    for (const color of COLORS) {
      if (weightOf(state, color) > 0 && this.#endpoints(service, color).length === 0) {
        throw new TealError(
          "CONFLICT",
          managed
            ? `service ${service} has nothing running on ${color}, so it cannot receive traffic: deploy to it first (teal deploy ${service} --version …)`
            : `service ${service} has no ${color} endpoints, so it cannot receive traffic: add services.${service}.${color} to the config first`,
        );
      }
    }
  }

  #checkHealth(service: string, before: RoutingState, after: RoutingState): void {
    for (const color of COLORS) {
      if (weightOf(after, color) === 0 || weightOf(before, color) > 0) continue;
      const reason = this.#gate.refuseTraffic(service, color);
      if (reason !== undefined) {
        throw new TealError(
          "NOT_HEALTHY",
          `refusing to send traffic of ${service} to ${color}: ${reason}; fix it, or add --force to switch anyway`,
          { details: { service, color } },
        );
      }
    }
  }

  /**
   * The data plane refused the new state (an external router failed or cannot do it): the stored
   * state goes back to what is still serving, so store, controller and traffic agree again.
   */
  async #revert(service: string, before: RoutingState): Promise<void> {
    const revision = await this.#options.repository.save(service, before, this.#revisions.get(service) ?? 0);
    this.#revisions.set(service, revision);
    this.#routing.set(service, before);
    // A router may have failed half-way: push the old state again so every part serves it.
    await this.#push(service).catch((err) =>
      this.#options.onWarning?.(
        `could not re-apply the previous routing of ${service}: ${(err as Error).message}`,
      ),
    );
  }

  /**
   * Puts the routing in force. A command changed one service: only its spec is rebuilt (a
   * change of instances always comes through refresh, which looks at every service).
   */
  async #push(service?: string): Promise<void> {
    this.#generation++;
    await this.#options.dataPlane.apply(
      service === undefined
        ? this.#specs.all(this.#routing, this.#generation)
        : this.#specs.one(service, this.#routing, this.#generation),
    );
  }
}

export function serviceNotFound(service: string, known: string[]): TealError {
  const list = known.length > 0 ? `known services: ${known.join(", ")}` : "no services are configured";
  return new TealError("SERVICE_NOT_FOUND", `no service named "${service}" (${list})`, {
    details: { service },
  });
}
