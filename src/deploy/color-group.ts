/**
 * The instances of one color of one service: launched or re-adopted, health-checked, and
 * restarted with backoff when they die while they are meant to run. Static endpoints (that the
 * user runs) are members without a process: only their health is watched.
 */

import type { HealthConfig } from "../config/schema.ts";
import type { Clock, Timer } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { HealthState } from "../domain/health.ts";
import type { InstanceRecord } from "../domain/slot.ts";
import type { HealthMonitor, HealthWatch } from "../health/health-monitor.ts";
import { readLastLines } from "../runtime/log-files.ts";
import type { InstanceExit, InstanceHandle, Runtime } from "../runtime/runtime.ts";

/** How a color's instances are started, kept with the group so that a crash can be restarted alike. */
export interface LaunchPlan {
  readonly version: string;
  readonly seq: number;
  /** null: the image's own command (docker). */
  readonly command: string | readonly string[] | null;
  /** The image to run (docker); null for processes. */
  readonly image: string | null;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly instances: number;
  readonly logMaxBytes: number;
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs: number;
}

export interface MemberView {
  readonly id: string;
  readonly url: string;
  readonly pid: number | null;
  /** The container's id (docker runtime); null otherwise. */
  readonly containerId: string | null;
  readonly alive: boolean;
  readonly restarts: number;
  readonly startedAt: string | null;
  /** null when the service has no health check (static endpoints without `health`). */
  readonly health: HealthState | null;
}

export interface GroupEvents {
  exited(id: string, exit: InstanceExit, restartInMs: number | null): void;
  restarted(id: string, record: InstanceRecord): void;
  restartFailed(id: string, err: unknown): void;
  healthChanged(id: string, state: HealthState, previous: HealthState): void;
  /** Endpoints or instance records changed: persist them and refresh the proxy's spec. */
  membersChanged(): void;
}

interface Member {
  readonly id: string;
  readonly index: number;
  readonly url: string;
  readonly handle: InstanceHandle | null;
  readonly health: HealthWatch | null;
  restarts: number;
  crashStreak: number;
  dead: boolean;
  exit?: InstanceExit;
}

export class InstanceExitedError extends Error {
  constructor(
    readonly id: string,
    readonly exit: InstanceExit,
  ) {
    super(
      `instance ${id} exited ${exit.signal ? `on signal ${exit.signal}` : `with code ${exit.code ?? "unknown"}`} before it became healthy`,
    );
  }
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class ColorGroup {
  readonly service: string;
  readonly color: Color;
  readonly #runtime: Runtime | undefined;
  readonly #monitor: HealthMonitor;
  readonly #health: HealthConfig | undefined;
  readonly #clock: Clock;
  readonly #events: GroupEvents;
  #members: Member[] = [];
  #plan: LaunchPlan | undefined;
  #restartTimers = new Set<Timer>();
  #stopping = false;
  /** Whether an instance that exits is restarted; the color's ColorState decides. */
  readonly #restarts: () => boolean;

  constructor(options: {
    service: string;
    color: Color;
    runtime: Runtime | undefined;
    monitor: HealthMonitor;
    health: HealthConfig | undefined;
    clock: Clock;
    events: GroupEvents;
    restarts: () => boolean;
  }) {
    this.service = options.service;
    this.color = options.color;
    this.#runtime = options.runtime;
    this.#monitor = options.monitor;
    this.#health = options.health;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#restarts = options.restarts;
  }

  get version(): string | null {
    return this.#plan?.version ?? null;
  }

  get size(): number {
    return this.#members.length;
  }

  /** Static endpoints: watched, never started or stopped. */
  useStatic(urls: readonly string[]): void {
    this.#members = urls.map((url, index) =>
      this.#member(`${this.service}-${this.color}-${index}`, index, url, null),
    );
  }

  /** Starts every instance of the plan; if one fails to start, stops the others and throws. */
  async launch(plan: LaunchPlan): Promise<void> {
    this.#plan = plan;
    this.#stopping = false;
    const started = await Promise.allSettled(
      Array.from({ length: plan.instances }, (_, index) => this.#launchOne(plan, index)),
    );
    const failed = started.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(
        started.flatMap((r) =>
          r.status === "fulfilled" ? [r.value.stop(plan.stopSignal, plan.stopTimeoutMs)] : [],
        ),
      );
      throw failed.reason;
    }
    this.#members = started.map((r, index) => {
      const handle = (r as PromiseFulfilledResult<InstanceHandle>).value;
      return this.#watchExit(this.#member(handle.record.id, index, "", handle));
    });
  }

  /** Takes over instances a previous teal process started; returns the records that are gone. */
  async adopt(plan: LaunchPlan, records: readonly InstanceRecord[]): Promise<InstanceRecord[]> {
    this.#plan = plan;
    this.#stopping = false;
    const lost: InstanceRecord[] = [];
    for (const record of records) {
      const handle = await this.#runtime?.adopt(record, { logMaxBytes: plan.logMaxBytes });
      if (handle) this.#members.push(this.#watchExit(this.#member(record.id, record.index, "", handle)));
      else lost.push(record);
    }
    return lost;
  }

  /** Starts instances for the given indexes (after adoption found them gone). */
  async replace(indexes: readonly number[]): Promise<void> {
    const plan = this.#plan;
    if (!plan) return;
    for (const index of indexes) {
      const handle = await this.#launchOne(plan, index);
      this.#members.push(this.#watchExit(this.#member(handle.record.id, index, "", handle)));
    }
    this.#members.sort((a, b) => a.index - b.index);
  }

  /** Stops every instance (gracefully, then forcibly) and forgets them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#restartTimers) t.cancel();
    this.#restartTimers.clear();
    const members = this.#members;
    this.#members = [];
    for (const m of members) m.health?.stop();
    const plan = this.#plan;
    await Promise.all(
      members.map((m) => m.handle?.stop(plan?.stopSignal ?? "SIGTERM", plan?.stopTimeoutMs ?? 10_000)),
    );
  }

  /** Stops health checks without touching the processes (teal shutting down for a restart). */
  detach(): void {
    this.#stopping = true;
    for (const t of this.#restartTimers) t.cancel();
    for (const m of this.#members) m.health?.stop();
  }

  endpoints(): string[] {
    return this.#members.filter((m) => !m.dead).map((m) => m.url);
  }

  records(): InstanceRecord[] {
    return this.#members.flatMap((m) => (m.handle ? [m.handle.record] : []));
  }

  /** Whether the color may receive traffic: every instance up and (if checked) healthy. */
  readiness(): { ok: true } | { ok: false; reason: string } {
    if (this.#members.length === 0) return { ok: false, reason: `${this.color} has no instances` };
    for (const m of this.#members) {
      if (m.dead) return { ok: false, reason: `instance ${m.id} is not running` };
      const h = m.health?.state;
      if (h && h.status !== "healthy") {
        const last = h.lastProbe?.reason ? ` (last probe: ${h.lastProbe.reason})` : "";
        return { ok: false, reason: `instance ${m.id} is ${h.status}${last}` };
      }
    }
    return { ok: true };
  }

  /** Resolves when every instance is healthy; rejects if one exits first or the signal aborts. */
  async untilHealthy(signal: AbortSignal): Promise<void> {
    const exits = this.#members.flatMap((m) =>
      m.handle ? [m.handle.exited.then((exit) => Promise.reject(new InstanceExitedError(m.id, exit)))] : [],
    );
    const healthy = Promise.all(this.#members.map((m) => m.health?.untilHealthy(signal)));
    try {
      await Promise.race([healthy, ...exits]);
    } catch (err) {
      // An exit also stops the member's health watch; report the exit, not the stopped watch.
      const dead = this.#members.find((m) => m.exit !== undefined);
      throw dead ? new InstanceExitedError(dead.id, dead.exit!) : err;
    }
  }

  view(): MemberView[] {
    return this.#members.map((m) => ({
      id: m.id,
      url: m.url,
      pid: m.handle?.record.pid ?? null,
      containerId: m.handle?.record.containerId ?? null,
      alive: !m.dead,
      restarts: m.restarts,
      startedAt: m.handle?.record.startedAt ?? null,
      health: m.health?.state ?? null,
    }));
  }

  /** The last lines each instance wrote since it was started, for a failure report. */
  async lastLogLines(lines: number): Promise<{ id: string; lines: string[] }[]> {
    return Promise.all(
      this.records().map(async (r) => {
        const all = await readLastLines(r.logPath, lines);
        const header = all.findLastIndex(
          (l) => l.startsWith("--- teal ") && l.includes(`instance ${r.index},`),
        );
        return { id: r.id, lines: header >= 0 ? all.slice(header + 1) : all };
      }),
    );
  }

  async #launchOne(plan: LaunchPlan, index: number): Promise<InstanceHandle> {
    if (!this.#runtime) throw new Error(`${this.service} has no runtime to launch instances with`);
    return this.#runtime.launch(
      {
        service: this.service,
        color: this.color,
        version: plan.version,
        deploymentSeq: plan.seq,
        index,
        command: plan.command,
        image: plan.image,
        cwd: plan.cwd,
        env: plan.env,
      },
      { logMaxBytes: plan.logMaxBytes },
    );
  }

  #member(id: string, index: number, url: string, handle: InstanceHandle | null): Member {
    const target = { id, url: handle?.record.url ?? url, expectedVersion: this.#plan?.version };
    const health = this.#health ? this.#monitor.watch(target, this.#health) : null;
    const member: Member = {
      id,
      index,
      url: target.url,
      handle,
      health,
      restarts: 0,
      crashStreak: 0,
      dead: false,
    };
    health?.onChange((state, previous) => {
      if (state.status === previous.status) return;
      if (state.status === "healthy") member.crashStreak = 0;
      this.#events.healthChanged(id, state, previous);
    });
    return member;
  }

  #watchExit(member: Member): Member {
    member.handle?.exited.then((exit) => this.#onExit(member, exit));
    return member;
  }

  #onExit(member: Member, exit: InstanceExit): void {
    if (this.#stopping || !this.#members.includes(member)) return;
    member.dead = true;
    member.exit = exit;
    member.health?.stop();
    const delay = this.#restarts() ? this.#backoffMs(member) : null;
    this.#events.exited(member.id, exit, delay);
    this.#events.membersChanged();
    if (delay !== null) this.#scheduleRestart(member, delay);
  }

  #backoffMs(member: Member): number {
    return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** member.crashStreak);
  }

  #scheduleRestart(member: Member, delayMs: number): void {
    const timer = this.#clock.setTimeout(() => {
      this.#restartTimers.delete(timer);
      void this.#restart(member);
    }, delayMs);
    this.#restartTimers.add(timer);
  }

  async #restart(old: Member): Promise<void> {
    const plan = this.#plan;
    if (!plan || this.#stopping || !this.#members.includes(old)) return;
    try {
      const handle = await this.#launchOne(plan, old.index);
      if (this.#stopping || !this.#members.includes(old)) {
        await handle.stop(plan.stopSignal, plan.stopTimeoutMs);
        return;
      }
      const fresh = this.#member(handle.record.id, old.index, "", handle);
      fresh.restarts = old.restarts + 1;
      fresh.crashStreak = old.crashStreak + 1;
      this.#members = this.#members.map((m) => (m === old ? fresh : m));
      this.#watchExit(fresh);
      this.#events.restarted(fresh.id, handle.record);
      this.#events.membersChanged();
    } catch (err) {
      this.#events.restartFailed(old.id, err);
      old.crashStreak++;
      if (!this.#stopping && this.#members.includes(old)) this.#scheduleRestart(old, this.#backoffMs(old));
    }
  }
}
