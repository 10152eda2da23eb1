/**
 * The deployment controller: one deployment at a time per service, a deploy or a rollback
 * (instant while the previous color is warm), re-adoption of instances at start, and the
 * status of what runs where. The steps themselves are in runbook.ts.
 */

import { PrometheusSource } from "../analysis/prometheus-source.ts";
import { ProxySource } from "../analysis/proxy-source.ts";
import { WebSource } from "../analysis/web-source.ts";
import type { TealConfig } from "../config/schema.ts";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import { type RoutingController, serviceNotFound } from "../control/routing-controller.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import { type Color, otherColor } from "../domain/color.ts";
import type { Deployment, DeploymentKind } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import { weightOf } from "../domain/routing.ts";
import { rolloutPlan } from "../domain/strategy.ts";
import { HealthMonitor } from "../health/health-monitor.ts";
import type { Logger } from "../log/logger.ts";
import { groupsWritingUnder } from "../runtime/process/proc-info.ts";
import type { ProcessRuntime } from "../runtime/process/process-runtime.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Store } from "../store/store.ts";
import { DeployFailure } from "./deploy-failure.ts";
import { deployView, type ServiceDeployView } from "./deploy-view.ts";
import { DeploymentLog } from "./deployment-log.ts";
import { DeploymentNotices } from "./deployment-notices.ts";
import { DeploymentRepository } from "./deployment-repository.ts";
import { groupEvents } from "./group-events.ts";
import type { DeployContext } from "./lifecycle.ts";
import type { RolloutDeps } from "./rollout.ts";
import { RollbackRequest, RolloutControl } from "./rollout-control.ts";
import { runDeployment, switchBack } from "./runbook.ts";
import { imageFor, type RunningDeployment, ServiceUnit } from "./service-unit.ts";
import { SlotRepository } from "./slot-repository.ts";
import { strategyFor } from "./strategy-choice.ts";

export interface DeployRequest {
  /** Required unless an image is given: then its tag (or digest) is the version. */
  readonly version?: string;
  /** docker runtime: the image to run instead of the configured one. */
  readonly image?: string;
  /** Overrides the service's strategy: "blueGreen", "canary" (the configured steps) or a preset. */
  readonly strategy?: string;
  readonly command?: string | readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface DeployerOptions {
  readonly config: TealConfig;
  readonly configDir: string;
  readonly store: Store;
  readonly runtime: ProcessRuntime;
  /** The runtime of each service that does not run as processes (docker), by service name. */
  readonly runtimes?: ReadonlyMap<string, Runtime>;
  /** Where instances write their output; used to find instances left unrecorded by a crash. */
  readonly logDir: string;
  readonly dataPlane: DataPlanePort;
  readonly log: Logger;
  readonly clock?: Clock;
}

export class Deployer implements DeployContext {
  readonly #options: DeployerOptions;
  readonly #clock: Clock;
  readonly #monitor: HealthMonitor;
  readonly #slots: SlotRepository;
  readonly journal: DeploymentLog;
  /** "service/color" whose instances a start could not re-adopt: recovery leaves their records be. */
  readonly #unadopted = new Set<string>();
  readonly #units = new Map<string, ServiceUnit>();
  readonly #runs = new Set<Promise<void>>();
  readonly #rolloutDeps: RolloutDeps;
  readonly #notices: DeploymentNotices;
  #controller: RoutingController | undefined;

  constructor(options: DeployerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#monitor = new HealthMonitor({ clock: this.#clock });
    this.#slots = new SlotRepository(options.store);
    this.journal = new DeploymentLog(new DeploymentRepository(options.store), this.#clock);
    this.#notices = new DeploymentNotices(options.config, this.#clock, options.log);
    const proxy = new ProxySource(() => options.dataPlane.status(), this.#clock);
    const prometheus = new PrometheusSource();
    const web = new WebSource();
    this.#rolloutDeps = {
      metrics: (check) => (check.prometheus ? prometheus : check.web ? web : proxy),
      proxy,
      notify: (event, d, message, data) => this.#notices.notify(event, d, message, data),
    };
  }

  get log(): Logger {
    return this.#options.log;
  }

  get controller(): RoutingController {
    if (!this.#controller) throw new Error("deployer used before attach()");
    return this.#controller;
  }

  /**
   * Step 1 of a start: loads what each color runs and re-adopts the instances a previous teal
   * process left running, so the first spec the proxy gets already points at them.
   */
  async adopt(): Promise<Map<string, Map<Color, number[]>>> {
    const lost = new Map<string, Map<Color, number[]>>();
    for (const [name, config] of Object.entries(this.#options.config.services)) {
      const { slots, corrupt } = await this.#slots.load(name);
      if (corrupt) this.log.warn({ service: name }, "slots record unreadable; moved to quarantine/");
      const unit = new ServiceUnit({
        name,
        config,
        configDir: this.#options.configDir,
        slots,
        repository: this.#slots,
        runtime:
          config.runtime.type === "process" ? this.#options.runtime : this.#options.runtimes?.get(name),
        monitor: this.#monitor,
        clock: this.#clock,
        events: (color) => groupEvents(this, name, color),
      });
      this.#units.set(name, unit);
      if (!unit.managed) continue;
      const perColor = new Map<Color, number[]>();
      for (const color of ["blue", "green"] as const) {
        const slot = unit.slot(color);
        if (slot.state === "stopped" || slot.instances.length === 0) continue;
        try {
          const gone = await unit.groups[color].adopt(unit.planOfSlot(color), slot.instances);
          perColor.set(
            color,
            gone.map((r) => r.index),
          );
        } catch (err) {
          // An engine that is down must not keep the other services from starting. The records
          // stay as they are: the next start adopts the containers, which may well still run.
          this.#unadopted.add(`${name}/${color}`);
          this.log.error(
            { err, service: name, color },
            `could not re-adopt ${name}'s ${color} instances (${(err as Error).message}); they are not served until teal is restarted with the engine reachable`,
          );
        }
      }
      lost.set(name, perColor);
    }
    this.killOrphans();
    await this.#removeOrphanContainers();
    return lost;
  }

  /** Containers of teal's services that no record knows (a crash between create and save) are removed. */
  async #removeOrphanContainers(): Promise<void> {
    for (const unit of this.units()) {
      if (!unit.runtime?.removeOrphans) continue;
      const known = new Set(
        [...unit.groups.blue.records(), ...unit.groups.green.records()].flatMap((r) =>
          r.containerId ? [r.containerId] : [],
        ),
      );
      try {
        const removed = await unit.runtime.removeOrphans(unit.name, known);
        for (const name of removed) {
          this.log.warn(
            { service: unit.name, container: name },
            "removed a container no record knew of (left by a crash of teal or a failed deployment)",
          );
        }
      } catch (err) {
        this.log.error({ err, service: unit.name }, "could not look for orphaned containers");
      }
    }
  }

  /**
   * Instances nobody recorded (teal crashed between starting one and saving it) would run
   * forever: every process group writing into the log directory that was not adopted is killed.
   */
  killOrphans(): number[] {
    const adopted = new Set(
      this.units().flatMap((u) =>
        [...u.groups.blue.records(), ...u.groups.green.records()].map((r) => r.pid),
      ),
    );
    const orphans = [...groupsWritingUnder(this.#options.logDir)].filter((pgid) => !adopted.has(pgid));
    for (const pgid of orphans) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {}
      this.log.warn({ pgid }, "killed an instance no record knew of (left by a crash of teal)");
    }
    return orphans;
  }

  /** Step 2: with the controller running, settles what a crash left half done. */
  async attach(controller: RoutingController, lost: Map<string, Map<Color, number[]>>): Promise<void> {
    this.#controller = controller;
    const { recover } = await import("./recovery.ts");
    for (const unit of this.#units.values()) {
      try {
        await recover(this, unit, lost.get(unit.name) ?? new Map());
      } catch (err) {
        // One service that cannot be settled (its engine is down, say) must not stop the others.
        this.log.error({ err, service: unit.name }, `could not settle ${unit.name} after the restart`);
      }
    }
  }

  /** False when a start could not re-adopt this color's instances (their engine was unreachable). */
  adopted(service: string, color: Color): boolean {
    return !this.#unadopted.has(`${service}/${color}`);
  }

  unit(service: string): ServiceUnit {
    const unit = this.#units.get(service);
    if (!unit) throw serviceNotFound(service, [...this.#units.keys()]);
    return unit;
  }

  units(): ServiceUnit[] {
    return [...this.#units.values()];
  }

  get dataPlane(): DataPlanePort {
    return this.#options.dataPlane;
  }

  get clock(): Clock {
    return this.#clock;
  }

  endpoints = (service: string, color: Color): readonly string[] =>
    this.#units.get(service)?.groups[color].endpoints() ?? [];

  refuseTraffic = (service: string, color: Color): string | undefined => {
    const unit = this.#units.get(service);
    if (!unit) return undefined;
    if (!unit.managed && unit.config.health === undefined) return undefined;
    const r = unit.groups[color].readiness();
    return r.ok ? undefined : r.reason;
  };

  busy = (service: string): string | undefined => {
    const running = this.#units.get(service)?.running;
    if (running === undefined) return undefined;
    const which = running === "claiming" ? "" : ` (#${running.seq})`;
    return `a deployment of ${service} is running${which}; traffic moves with it: wait for it to finish, or use teal rollback afterwards`;
  };

  /** What each color of a service runs, for status views. */
  view(service: string): ServiceDeployView {
    return deployView(this.unit(service));
  }

  /** Accepts a deployment and runs it in the background; resolves with its record. */
  async deploy(service: string, request: DeployRequest, actor: string): Promise<Deployment> {
    const unit = this.#managedUnit(service, "deploy");
    return this.#begin(
      unit,
      actor,
      "deploy",
      async () => {
        const live = this.controller.routing(service).live;
        // The very first version goes straight onto the live color, which has nothing to protect.
        const empty = unit.slot(live).version === null && unit.groups[live].size === 0;
        const idle = otherColor(live);
        const share = weightOf(this.controller.routing(service), idle);
        if (!empty && share > 0) {
          throw new TealError(
            "CONFLICT",
            `${service} sends ${share}% of its traffic to ${idle}, where the new version would go; finish or undo the split first (teal switch ${service} --to ${live}, or --to ${idle})`,
          );
        }
        const { version, image } = versionAndImage(unit, request);
        return {
          version,
          color: empty ? live : otherColor(live),
          command: request.command ?? null,
          image,
          env: request.env ?? {},
          rollbackOf: null,
        };
      },
      request.strategy,
    );
  }

  /**
   * Undoes the live deployment: an instant switch back while the previous color is warm and
   * healthy, otherwise a new deployment of the previous version.
   */
  async rollback(service: string, actor: string): Promise<Deployment> {
    const unit = this.#managedUnit(service, "rollback");
    return this.#begin(unit, actor, "rollback", async () => {
      const live = this.controller.routing(service).live;
      const current = unit.slot(live).deploymentSeq;
      const d = current === null ? undefined : (await this.journal.repository.get(service, current))?.value;
      if (!d)
        throw new TealError(
          "CONFLICT",
          `nothing teal deployed is live on ${service}; there is nothing to roll back`,
        );
      if (d.from.version === null) {
        throw new TealError(
          "CONFLICT",
          `${service} #${d.seq} (${d.version}) was its first deployment; there is no earlier version to roll back to`,
        );
      }
      const earlier =
        d.from.seq === null ? undefined : (await this.journal.repository.get(service, d.from.seq))?.value;
      return {
        version: d.from.version,
        color: otherColor(live),
        command: earlier?.command ?? null,
        image: earlier?.image ?? unit.slot(otherColor(live)).image ?? null,
        env: earlier?.env ?? {},
        rollbackOf: d.seq,
      };
    });
  }

  async #begin(
    unit: ServiceUnit,
    actor: string,
    kind: DeploymentKind,
    decide: () => Promise<Pick<Deployment, "version" | "color" | "command" | "image" | "env" | "rollbackOf">>,
    strategy?: string,
  ): Promise<Deployment> {
    // A rollback that has to redeploy goes all at once: it returns to a version known to work.
    const plan = rolloutPlan(
      kind === "rollback" ? { blueGreen: { autoPromote: true }, monitor: 0 } : strategyFor(unit, strategy),
    );
    await this.#refuseIfBusy(unit);
    unit.running = "claiming";
    try {
      const target = await decide();
      const live = this.controller.routing(unit.name).live;
      const liveSlot = unit.slot(live);
      const instant =
        kind === "rollback" &&
        unit.slot(target.color).version === target.version &&
        (unit.slot(target.color).image ?? null) === (target.image ?? null) &&
        unit.groups[target.color].readiness().ok;
      const d = await this.journal.create(
        {
          service: unit.name,
          kind,
          ...target,
          from: { color: live, version: liveSlot.version, seq: liveSlot.deploymentSeq },
          actor,
          phase: instant ? "switching" : "starting",
          outcome: "running",
          reason: null,
          rolledBackBy: null,
          rollbackCause: null,
          finishedAt: null,
          rollout: null,
        },
        instant
          ? `rolling back ${unit.name} to ${target.version}, still warm on ${target.color}: switching back now`
          : `${kind === "rollback" ? "rolling back" : "deploying"} ${unit.name} ${target.version} to ${target.color} (${liveSlot.version === null ? "its first version" : `live: ${live} ${liveSlot.version}`})`,
      );
      const abort = new AbortController();
      const control = new RolloutControl();
      unit.running = { seq: d.seq, color: d.color, abort, control };
      this.#notices.notify(
        "deployment.started",
        d,
        `${kind} of ${d.version} to ${d.color} started by ${actor}`,
      );
      const rollout = { deps: this.#rolloutDeps, plan, control };
      const run = (instant ? switchBack(this, unit, d) : runDeployment(this, unit, d, abort.signal, rollout))
        .then(async () => this.#notices.outcome((await this.journal.repository.get(d.service, d.seq))?.value))
        .catch((err) =>
          this.log.error({ err, service: unit.name, seq: d.seq }, "deployment could not be recorded"),
        )
        .finally(() => {
          unit.running = undefined;
          this.#runs.delete(run);
        });
      this.#runs.add(run);
      return d;
    } catch (err) {
      unit.running = undefined;
      throw err;
    }
  }

  async #refuseIfBusy(unit: ServiceUnit): Promise<void> {
    const running = unit.running;
    if (running === undefined) return;
    const d =
      running === "claiming" ? undefined : (await this.journal.repository.get(unit.name, running.seq))?.value;
    const what = d
      ? `#${d.seq} (${d.kind} of ${d.version} to ${d.color}, started ${d.startedAt} by ${d.actor}, phase ${d.phase})`
      : "one that is just starting";
    throw new TealError(
      "DEPLOYMENT_RUNNING",
      `a deployment of ${unit.name} is already running: ${what}; wait for it to finish (teal history ${unit.name})`,
      { details: { service: unit.name, running: d?.seq ?? null } },
    );
  }

  #managedUnit(service: string, action: string): ServiceUnit {
    const unit = this.unit(service);
    if (unit.config.runtime.type === "static") {
      throw new TealError(
        "UNSUPPORTED",
        `${service} runs static endpoints that you start yourself, so teal cannot ${action} it; start the new version on the idle color and run teal switch ${service}`,
      );
    }
    return unit;
  }

  /** `teal promote`: ends the current pause or inconclusive wait; `full` skips every remaining step. */
  async promote(service: string, full: boolean, actor: string): Promise<Deployment> {
    const { control, seq } = this.#running(service, "promote");
    control.promote(full);
    return this.journal.append(
      service,
      seq,
      "promote",
      full ? "promoted fully: remaining steps skipped" : "promoted: next step",
      { actor },
    );
  }

  /** `teal abort`: all traffic back on the stable color now; the deployment ends rolled back. */
  async abort(service: string, actor: string): Promise<Deployment> {
    const { control, seq } = this.#running(service, "abort");
    control.abort(new RollbackRequest(`aborted by ${actor}`, "abort", actor));
    return (await this.journal.repository.get(service, seq))!.value;
  }

  /** `teal pause|resume --rollout`: holds the rollout at its current step (analysis keeps watching). */
  async pauseRollout(service: string, paused: boolean, actor: string): Promise<Deployment> {
    const { control, seq } = this.#running(service, paused ? "pause" : "resume");
    if (paused) control.pause();
    else control.resume();
    return this.journal.append(
      service,
      seq,
      "pause",
      paused ? "rollout paused: it stays at this step until teal resume --rollout" : "rollout resumed",
      { actor, change: (d) => (d.rollout ? { ...d, rollout: { ...d.rollout, paused } } : d) },
    );
  }

  #running(service: string, action: string): RunningDeployment {
    const running = this.unit(service).running;
    if (running === undefined || running === "claiming") {
      throw new TealError(
        "CONFLICT",
        `no deployment of ${service} is running, so there is nothing to ${action}`,
      );
    }
    return running;
  }

  /** First half of a graceful stop: running deployments end (failed, new instances stopped). */
  async abortDeployments(): Promise<void> {
    for (const unit of this.#units.values()) {
      unit.cancelTimers();
      if (unit.running !== undefined && unit.running !== "claiming") {
        unit.running.abort.abort(new DeployFailure("the teal server is shutting down"));
      }
    }
    await Promise.allSettled(this.#runs);
  }

  /** Second half, once the proxy has drained: every instance is stopped. */
  async stopInstances(): Promise<void> {
    this.#monitor.stopAll();
    this.#notices.close();
    await Promise.all(
      [...this.#units.values()].flatMap((u) => [u.groups.blue.stop(), u.groups.green.stop()]),
    );
  }
}

/**
 * The version label and image of a deploy request. A docker service deploys the given image (its
 * tag is the version when none is given) or its configured one with `{version}` filled in.
 */
function versionAndImage(
  unit: ServiceUnit,
  request: DeployRequest,
): { version: string; image: string | null } {
  const rt = unit.config.runtime;
  if (rt.type !== "docker") {
    if (request.image !== undefined) {
      throw new TealError(
        "INVALID_REQUEST",
        `image: ${unit.name} runs with runtime type ${rt.type}, which has no images; leave out --image, or use runtime type docker`,
      );
    }
    if (request.version === undefined)
      throw new TealError("INVALID_REQUEST", "version: is required, e.g. v2");
    return { version: request.version, image: null };
  }
  if (request.image !== undefined)
    return { version: request.version ?? tagOf(request.image), image: request.image };
  if (request.version === undefined) {
    throw new TealError(
      "INVALID_REQUEST",
      `version: is required (or give --image repo:tag, whose tag becomes the version); ${unit.name} runs ${rt.image}`,
    );
  }
  return { version: request.version, image: imageFor(rt.image, request.version) };
}

/** "repo:tag" -> "tag"; "repo@sha256:…" -> "sha256:…"; "repo" -> "latest". */
export function tagOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest";
}
