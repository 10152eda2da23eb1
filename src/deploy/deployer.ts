/**
 * The deployment command surface: deploy, rollback (the operator's undo), promote, abort and
 * pause, one deployment at a time per service (the claim in `#begin`). The steps themselves are in
 * runbook.ts and rollout.ts; start-up adoption and recovery in adoption.ts and recovery.ts; the
 * traffic gate the routing controller asks in unit-traffic-gate.ts.
 */

import { otherColor } from "../domain/color.ts";
import type { Deployment, DeploymentKind } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import { weightOf } from "../domain/routing.ts";
import { rolloutPlan } from "../domain/strategy.ts";
import { DeployFailure } from "./deploy-failure.ts";
import { type DeployRequest, versionAndImage } from "./deploy-request.ts";
import { deployView, type ServiceDeployView } from "./deploy-view.ts";
import type { DeploymentLog } from "./deployment-log.ts";
import type { DeploymentNotices } from "./deployment-notices.ts";
import type { DeployContext } from "./lifecycle.ts";
import type { RolloutDeps } from "./rollout.ts";
import { RollbackRequest, RolloutControl } from "./rollout-control.ts";
import { runDeployment, switchBack } from "./runbook.ts";
import type { RunningDeployment, ServiceUnit } from "./service-unit.ts";
import type { ServiceUnits } from "./service-units.ts";
import { strategyFor } from "./strategy-choice.ts";

export interface DeployerOptions {
  /** Traffic control, the deployment journal, the data plane, the clock and the log. */
  readonly ctx: DeployContext;
  readonly units: ServiceUnits;
  readonly notices: DeploymentNotices;
  /** The metric source of each analysis check and the proxy's own, chosen by the composition root. */
  readonly metrics: Pick<RolloutDeps, "metrics" | "proxy">;
}

export class Deployer {
  readonly #ctx: DeployContext;
  readonly #units: ServiceUnits;
  readonly #notices: DeploymentNotices;
  readonly #rolloutDeps: RolloutDeps;
  readonly #runs = new Set<Promise<void>>();
  /** Set during a takeover: why new deployments are refused (see hold). */
  #held: string | undefined;

  constructor(options: DeployerOptions) {
    this.#ctx = options.ctx;
    this.#units = options.units;
    this.#notices = options.notices;
    this.#rolloutDeps = {
      ...options.metrics,
      notify: (event, d, message, data) => this.#notices.notify(event, d, message, data),
    };
  }

  /** Every deployment record: the API reads history and follows events through it. */
  get journal(): DeploymentLog {
    return this.#ctx.journal;
  }

  /** What each color of a service runs, for status views; throws SERVICE_NOT_FOUND. */
  view(service: string): ServiceDeployView {
    return deployView(this.#units.get(service));
  }

  /** Accepts a deployment and runs it in the background; resolves with its record. */
  async deploy(service: string, request: DeployRequest, actor: string): Promise<Deployment> {
    const unit = this.#managedUnit(service, "deploy");
    return this.#begin(
      unit,
      actor,
      "deploy",
      async () => {
        const live = this.#ctx.controller.routing(service).live;
        // The very first version goes straight onto the live color, which has nothing to protect.
        const empty = unit.slot(live).version === null && unit.groups[live].size === 0;
        const idle = otherColor(live);
        const share = weightOf(this.#ctx.controller.routing(service), idle);
        if (!empty && share > 0) {
          throw new TealError(
            "CONFLICT",
            `${service} sends ${share}% of its traffic to ${idle}, where the new version would go; finish or undo the split first (teal switch ${service} --to ${live}, or --to ${idle})`,
          );
        }
        const { version, image } = versionAndImage(unit, request);
        // Refused here, before anything starts, when the migration it would expand is unsafe.
        const schema = (await this.#ctx.migrations?.prepare(this.#ctx, unit)) ?? {};
        return {
          version,
          color: empty ? live : otherColor(live),
          command: request.command ?? null,
          image,
          env: { ...(request.env ?? {}), ...schema },
          rollbackOf: null,
        };
      },
      request.strategy,
    );
  }

  /**
   * `teal rollback`, the operator's undo of the live deployment: an instant switch back while the
   * previous color is warm and healthy, otherwise a new deployment of the previous version. (A
   * rollout that fails sends its traffic back by itself: that is Rollout's #revertTraffic.)
   */
  async rollback(service: string, actor: string): Promise<Deployment> {
    const unit = this.#managedUnit(service, "rollback");
    return this.#begin(unit, actor, "rollback", async () => {
      const live = this.#ctx.controller.routing(service).live;
      const current = unit.slot(live).deploymentSeq;
      const d =
        current === null ? undefined : (await this.#ctx.journal.repository.get(service, current))?.value;
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
      if (d.migration?.phase === "done" || d.migration?.phase === "contracting") {
        throw new TealError(
          "CONFLICT",
          `${service} #${d.seq} (${d.version}) contracted migration ${d.migration.name}: the columns ${d.from.version} needs are gone, so teal cannot roll back to it; deploy a version that runs on schema ${d.migration.schema} instead`,
          { details: { service, seq: d.seq, migration: d.migration.name } },
        );
      }
      const earlier =
        d.from.seq === null
          ? undefined
          : (await this.#ctx.journal.repository.get(service, d.from.seq))?.value;
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
    // Checked right before claiming, with no await between: hold() sees every claimed unit.
    if (this.#held !== undefined) throw new TealError("CONFLICT", this.#held);
    unit.running = "claiming";
    try {
      const target = await decide();
      const live = this.#ctx.controller.routing(unit.name).live;
      const liveSlot = unit.slot(live);
      const instant =
        kind === "rollback" &&
        unit.slot(target.color).version === target.version &&
        (unit.slot(target.color).image ?? null) === (target.image ?? null) &&
        unit.groups[target.color].readiness().ok;
      const d = await this.#ctx.journal.create(
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
      const run = (
        instant ? switchBack(this.#ctx, unit, d) : runDeployment(this.#ctx, unit, d, abort.signal, rollout)
      )
        .then(async () =>
          this.#notices.outcome((await this.#ctx.journal.repository.get(d.service, d.seq))?.value),
        )
        .catch((err) =>
          this.#ctx.log.error({ err, service: unit.name, seq: d.seq }, "deployment could not be recorded"),
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
      running === "claiming"
        ? undefined
        : (await this.#ctx.journal.repository.get(unit.name, running.seq))?.value;
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
    const unit = this.#units.get(service);
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
    return this.#ctx.journal.append(
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
    return (await this.#ctx.journal.repository.get(service, seq))!.value;
  }

  /** `teal pause|resume --rollout`: holds the rollout at its current step (analysis keeps watching). */
  async pauseRollout(service: string, paused: boolean, actor: string): Promise<Deployment> {
    const { control, seq } = this.#running(service, paused ? "pause" : "resume");
    if (paused) control.pause();
    else control.resume();
    return this.#ctx.journal.append(
      service,
      seq,
      "pause",
      paused ? "rollout paused: it stays at this step until teal resume --rollout" : "rollout resumed",
      { actor, change: (d) => (d.rollout ? { ...d, rollout: { ...d.rollout, paused } } : d) },
    );
  }

  #running(service: string, action: string): RunningDeployment {
    const running = this.#units.get(service).running;
    if (running === undefined || running === "claiming") {
      throw new TealError(
        "CONFLICT",
        `no deployment of ${service} is running, so there is nothing to ${action}`,
      );
    }
    return running;
  }

  /**
   * A takeover: from now on every new deployment or rollback is refused with `reason`, until
   * release(). Returns the name of a service whose deployment is running instead (nothing is held
   * then): a takeover waits for no deployment, it is refused.
   */
  hold(reason: string): string | undefined {
    const busy = this.#units.all().find((u) => u.running !== undefined);
    if (busy !== undefined) return busy.name;
    this.#held = reason;
    return undefined;
  }

  release(): void {
    this.#held = undefined;
  }

  /** A graceful stop: running deployments end (failed, new instances stopped) and timers stop. */
  async abortDeployments(): Promise<void> {
    for (const unit of this.#units.all()) {
      unit.cancelTimers();
      if (unit.running !== undefined && unit.running !== "claiming") {
        unit.running.abort.abort(new DeployFailure("the teal server is shutting down"));
      }
    }
    await Promise.allSettled(this.#runs);
  }
}
