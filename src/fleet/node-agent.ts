/**
 * The agent of a `teal server --node` on etcd: it runs this machine's instances. It follows
 * `tasks/<node>/` (from a revision, reloading the prefix when etcd has compacted it) and carries
 * out each task with the node's own runtime on the node's own service units: starts the version
 * (stopping what ran on that color first), health-checks it locally and runs the service's smoke
 * checks against its own instances as a deployment does, and stops a color when told. It reports what runs on each color at `instances/<node>/…` on its own
 * lease, so the leader sees the health of every node and a dead node's reports vanish.
 *
 * The node's proxy routes to these instances: the units are the ones the node's routing
 * controller reads endpoints from, so the routing record says which color is live and this node
 * serves that color with its own instances. While this node leads, its own instances are the
 * deployment's (runbook.ts) and its tasks are not used.
 *
 * A task that asks what the lane already carries out (a watch that reloaded after a compaction
 * hands every task over again) changes nothing: the instances are not restarted. A drain on a
 * color's task (a quorum deployment went on without this node) makes the node's proxy serve the
 * color the drain names in that color's place (servedColor), never the version that failed here;
 * the node's report of the failed color says `drained` once the proxy does.
 *
 * After a restart the node's units have adopted what its slots record names (per node,
 * `slots/<node>/<service>`); a run task for the version already running there is kept, not
 * restarted.
 */

import type { DeployContext } from "../deploy/lifecycle.ts";
import type { ServiceUnit } from "../deploy/service-unit.ts";
import type { ServiceUnits } from "../deploy/service-units.ts";
import { runSmokeChecks } from "../deploy/smoke-checks.ts";
import type { Clock } from "../domain/clock.ts";
import { COLORS, type Color } from "../domain/color.ts";
import { followPrefix, type PrefixFollower } from "../store/follow-prefix.ts";
import type { KeyValue, Store, Watch, WatchEvent } from "../store/store.ts";
import {
  type Drain,
  type InstanceReport,
  instancesKey,
  type NodeTask,
  parseTask,
  sameWork,
  splitAgentKey,
  TASKS_PREFIX,
} from "./agent-records.ts";
import { LeasedRecords } from "./leased-records.ts";

export interface NodeAgentOptions {
  readonly node: string;
  readonly store: Store;
  readonly units: ServiceUnits;
  readonly ctx: Pick<DeployContext, "controller" | "log">;
  readonly clock: Clock;
  readonly ttlMs: number;
  /** While this node leads, its instances are its deployments' and tasks wait. */
  readonly leads: () => boolean;
}

/** One color of one service on this node: the task being carried out and the next one. */
interface Lane {
  running: Promise<void> | undefined;
  /** The task being carried out now. */
  current: NodeTask | undefined;
  abort: AbortController | undefined;
  next: NodeTask | undefined;
}

/** How often what runs is reported again (health changes between tasks): the write is skipped when unchanged. */
const REPORT_EVERY_MS = 1_000;

export class NodeAgent implements PrefixFollower {
  readonly #o: NodeAgentOptions;
  readonly #prefix: string;
  readonly #reports: LeasedRecords;
  readonly #lanes = new Map<string, Lane>();
  /** Per service/color: the deployment whose version failed to come up here, and why. */
  readonly #failed = new Map<string, { deployment: number | null; detail: string }>();
  /** Per service/color being started: its smoke checks have not passed yet (reported `starting`). */
  readonly #smoking = new Set<string>();
  readonly #bodies = new Map<string, string>();
  /** Per service/color: the last task taken (carried out, or being carried out). */
  readonly #tasks = new Map<string, NodeTask>();
  /** Per service: the color that failed here and what this node serves in its place. */
  readonly #drains = new Map<string, { color: Color; drain: Drain }>();
  #watch: Watch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    this.#prefix = `${TASKS_PREFIX}${options.node}/`;
    this.#reports = new LeasedRecords(options.store, options.ttlMs, (err) =>
      options.ctx.log.warn({ err, node: options.node }, "could not report this node's instances to etcd"),
    );
  }

  async start(): Promise<void> {
    this.#reports.start();
    this.#watch = await followPrefix(this.#o.store, this.#prefix, this, undefined, {
      clock: this.#o.clock,
      onWarning: (message, err) => this.#o.ctx.log.warn({ err, node: this.#o.node }, message),
    });
    this.#timer = setInterval(() => void this.#reportAll(), REPORT_EVERY_MS);
    await this.#reportAll();
  }

  /** Stops following tasks and revokes the reports' lease; the instances are the units' to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#watch?.cancel().catch(() => {});
    for (const lane of this.#lanes.values()) lane.abort?.abort(new Error("teal is stopping"));
    await Promise.all([...this.#lanes.values()].map((l) => l.running));
    await this.#reports.close();
  }

  // Arrow functions: followPrefix hands these to the store's watch unbound.
  readonly reload = (items: readonly KeyValue[]): void => {
    for (const kv of items) this.#take(kv.key, kv.value);
  };

  readonly onEvent = (event: WatchEvent): void => {
    // A deleted task asks nothing: what runs stays until a task says otherwise.
    if (event.type === "put") this.#take(event.kv.key, event.kv.value);
  };

  #take(key: string, value: string): void {
    const where = splitAgentKey(key, TASKS_PREFIX);
    const task = parseTask(value);
    const unit = where && this.#o.units.find(where.service);
    if (where === undefined || task === undefined || unit === undefined || !unit.managed) {
      this.#o.ctx.log.warn(
        { key },
        "skipped a task this node cannot carry out (unreadable, or a service not in its config)",
      );
      return;
    }
    if (this.#o.leads()) return;
    const id = `${where.service}/${where.color}`;
    const drainChanged = this.#setDrain(where.service, where.color, task.drained);
    const before = this.#tasks.get(id);
    this.#tasks.set(id, task);
    if (drainChanged) void this.#drainChanged();
    let lane = this.#lanes.get(id);
    // Carried out already, or being carried out: a reload's copy must not restart the instances.
    const busy = lane?.running !== undefined && lane.next === undefined && sameWork(lane.current, task);
    if (sameWork(before, task) && (busy || this.#still(unit, where.color, task))) return;
    if (lane === undefined) {
      lane = { running: undefined, current: undefined, abort: undefined, next: undefined };
      this.#lanes.set(id, lane);
    }
    lane.next = task;
    // A newer task ends the wait of the one before (a stop while the new version comes up).
    lane.abort?.abort(new Error("superseded by a newer task"));
    if (lane.running === undefined) lane.running = this.#drain(lane, unit, where.color);
  }

  /**
   * Whether the color is still what `task` made it (being started or running for its deployment,
   * or stopped): not so after this node led meanwhile and its own deployments changed it.
   */
  #still(unit: ServiceUnit, color: Color, task: NodeTask): boolean {
    const slot = unit.slot(color);
    if (task.action === "stop") return slot.state === "stopped" || slot.state === "stopping";
    return slot.deploymentSeq === task.deployment && slot.state !== "stopped" && slot.state !== "stopping";
  }

  /**
   * The color whose endpoints this node's proxy uses for `color` of `service`: the drain's color
   * while this node is drained (null: none), else `color` itself.
   */
  servedColor(service: string, color: Color): Color | null {
    const d = this.#drains.get(service);
    return d === undefined || d.color !== color || this.#o.leads() ? color : d.drain.serving;
  }

  #setDrain(service: string, color: Color, drain: Drain | undefined): boolean {
    const now = this.#drains.get(service);
    if (drain === undefined) {
      if (now?.color !== color) return false;
      this.#drains.delete(service);
      return true;
    }
    if (now?.color === color && JSON.stringify(now.drain) === JSON.stringify(drain)) return false;
    this.#drains.set(service, { color, drain });
    return true;
  }

  /** The proxy takes the new endpoints first; then the report says the drain is in force. */
  async #drainChanged(): Promise<void> {
    try {
      await this.#o.ctx.controller.refresh();
    } catch (err) {
      this.#o.ctx.log.warn({ err, node: this.#o.node }, "could not apply a drain to this node's proxy");
    }
    await this.#reportAll();
  }

  /** Carries out a lane's newest task until none is left. */
  async #drain(lane: Lane, unit: ServiceUnit, color: Color): Promise<void> {
    while (lane.next !== undefined && !this.#closed) {
      const task = lane.next;
      lane.next = undefined;
      lane.current = task;
      const abort = new AbortController();
      lane.abort = abort;
      try {
        if (task.action === "run") await this.#run(unit, color, task, abort.signal);
        else await this.#stop(unit, color);
      } catch (err) {
        this.#o.ctx.log.error(
          { err, node: this.#o.node, service: unit.name, color, task },
          "could not carry out a task",
        );
      }
      lane.abort = undefined;
      await this.#reportAll();
    }
    lane.current = undefined;
    lane.running = undefined;
  }

  async #run(unit: ServiceUnit, color: Color, task: NodeTask, signal: AbortSignal): Promise<void> {
    const id = `${unit.name}/${color}`;
    const slot = unit.slot(color);
    const group = unit.groups[color];
    const plan = unit.plan({
      version: task.version ?? "unknown",
      seq: task.deployment ?? 0,
      command: task.command,
      env: task.env,
      image: task.image,
    });
    const same =
      slot.deploymentSeq === task.deployment &&
      slot.version === task.version &&
      slot.state === "running" &&
      group.size >= plan.instances;
    if (same && !this.#failed.has(id)) {
      await unit.colors[color].serve();
      return;
    }
    this.#failed.delete(id);
    if (group.size > 0 || slot.state !== "stopped") await this.#stop(unit, color);
    // Not healthy until the smoke checks passed here, even once every instance is.
    if (unit.config.deployment.smoke.length > 0) this.#smoking.add(id);
    const log = this.#o.ctx.log;
    log.info(
      { node: this.#o.node, service: unit.name, color, version: task.version },
      "starting a version on this node",
    );
    try {
      await unit.runtime?.prepare(
        { service: unit.name, version: plan.version, image: plan.image },
        (message) => log.info({ service: unit.name, color }, message),
        signal,
      );
      await unit.colors[color].start({
        version: task.version,
        deploymentSeq: task.deployment,
        command: task.command,
        env: task.env,
        image: plan.image,
      });
      await group.launch(plan);
      await unit.setSlot(color, { instances: group.records() });
      await this.#o.ctx.controller.refresh();
      await this.#reportAll();
      await this.#untilHealthy(unit, color, signal);
      await this.#smoke(unit, color, task, plan.cwd, signal);
      if (!this.#o.leads()) await unit.colors[color].serve();
    } catch (err) {
      // Superseded by a newer task, or this node now leads: the color is no longer this task's.
      if (signal.aborted || this.#o.leads() || unit.slot(color).deploymentSeq !== task.deployment) return;
      const detail = (err as Error).message;
      this.#failed.set(id, { deployment: task.deployment, detail });
      // Kept as it is (not restarted) until the leader's stop task: its logs stay for a look.
      if (unit.slot(color).state === "starting") await unit.colors[color].hold().catch(() => {});
      log.warn(
        { node: this.#o.node, service: unit.name, color, version: task.version, detail },
        "the version did not come up on this node",
      );
    } finally {
      this.#smoking.delete(id);
    }
  }

  /**
   * The service's smoke checks (`deployment.smoke`) against this node's own instances of the new
   * color, as the leader runs them against its own: the other nodes' instances listen on their
   * own machine, out of the leader's reach. A failure is this node's version failing.
   */
  async #smoke(
    unit: ServiceUnit,
    color: Color,
    task: NodeTask,
    cwd: string,
    signal: AbortSignal,
  ): Promise<void> {
    const checks = unit.config.deployment.smoke;
    if (checks.length === 0) return;
    const report = await runSmokeChecks(
      checks,
      {
        service: unit.name,
        color,
        version: task.version ?? "unknown",
        urls: unit.groups[color].endpoints(),
        cwd,
      },
      signal,
    );
    const failed = report.results.find((r) => !r.ok);
    if (failed) throw new Error(`smoke check "${failed.name}" failed: ${failed.detail}`);
    this.#o.ctx.log.info(
      { node: this.#o.node, service: unit.name, color, version: task.version, checks: report.results.length },
      "smoke checks passed on this node",
    );
  }

  /** Every instance healthy, within the service's deployment timeout (on the clock). */
  async #untilHealthy(unit: ServiceUnit, color: Color, signal: AbortSignal): Promise<void> {
    const timeoutMs = unit.config.deployment.timeoutMs;
    const ctl = new AbortController();
    const timedOut = new Error("timeout");
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = this.#o.clock.setTimeout(() => ctl.abort(timedOut), timeoutMs);
    try {
      await unit.groups[color].untilHealthy(ctl.signal);
    } catch (err) {
      if (ctl.signal.reason === timedOut) {
        const r = unit.groups[color].readiness();
        throw new Error(
          `${color} did not become healthy within ${timeoutMs} ms: ${r.ok ? "timed out" : r.reason}`,
        );
      }
      throw err;
    } finally {
      timer.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #stop(unit: ServiceUnit, color: Color): Promise<void> {
    this.#failed.delete(`${unit.name}/${color}`);
    unit.cancelScaleDown(color);
    if (unit.groups[color].size === 0 && unit.slot(color).state === "stopped") return;
    this.#o.ctx.log.info({ node: this.#o.node, service: unit.name, color }, "stopping a color on this node");
    await unit.colors[color].retire(
      () => unit.groups[color].stop(),
      () => this.#o.ctx.controller.refresh(),
    );
  }

  /** What runs on each color of each service here, written when it changed. */
  async #reportAll(): Promise<void> {
    if (this.#closed) return;
    const writes: Promise<void>[] = [];
    for (const unit of this.#o.units.all()) {
      if (!unit.managed) continue;
      for (const color of COLORS) {
        const key = instancesKey(this.#o.node, unit.name, color);
        const report = this.#report(unit, color);
        if (report === undefined) {
          this.#bodies.delete(key);
          writes.push(this.#reports.delete(key));
          continue;
        }
        const body = JSON.stringify(report);
        if (this.#bodies.get(key) === body) continue;
        this.#bodies.set(key, body);
        writes.push(this.#reports.put(key, JSON.stringify({ ...report, time: new Date().toISOString() })));
      }
    }
    await Promise.all(writes);
  }

  #report(unit: ServiceUnit, color: Color): Omit<InstanceReport, "time"> | undefined {
    const group = unit.groups[color];
    const slot = unit.slot(color);
    const drain = this.#drains.get(unit.name);
    const drained = drain?.color === color ? { drained: drain.drain } : {};
    if (group.size === 0 && slot.state !== "starting" && drain?.color !== color) return undefined;
    const failed = this.#failed.get(`${unit.name}/${color}`);
    const ready = group.readiness();
    const smoking = this.#smoking.has(`${unit.name}/${color}`);
    return {
      version: slot.version,
      deployment: slot.deploymentSeq,
      health: failed ? "failed" : ready.ok && !smoking ? "healthy" : "starting",
      detail: failed ? failed.detail : !ready.ok ? ready.reason : smoking ? "running the smoke checks" : null,
      instances: group.view().map((m) => ({
        id: m.id,
        url: m.url,
        pid: m.pid,
        containerId: m.containerId,
        alive: m.alive,
      })),
      ...drained,
    };
  }
}
