/**
 * One service as the deployer sees it: its two color groups, what each color runs (the slots
 * record, kept in memory and in the store), the deployment in progress, and scale-down timers.
 */

import { resolve } from "node:path";
import { effectiveHealth, type ServiceConfig } from "../config/schema.ts";
import type { Clock, Timer } from "../domain/clock.ts";
import { COLORS, type Color } from "../domain/color.ts";
import type { ColorSlot, ServiceSlots } from "../domain/slot.ts";
import type { HealthMonitor } from "../health/health-monitor.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { ColorGroup, type GroupEvents, type LaunchPlan } from "./color-group.ts";
import { ColorState } from "./color-state.ts";
import type { RolloutControl } from "./rollout-control.ts";
import type { SlotRepository } from "./slot-repository.ts";

export interface RunningDeployment {
  readonly seq: number;
  /** The color it deploys to. */
  readonly color: Color;
  readonly abort: AbortController;
  /** Promote, abort, pause and resume of its rollout. */
  readonly control: RolloutControl;
}

export class ServiceUnit {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly groups: Readonly<Record<Color, ColorGroup>>;
  readonly #configDir: string;
  /** How this service's instances run; undefined for static endpoints. */
  readonly runtime: Runtime | undefined;
  readonly #repository: SlotRepository;
  #slots: ServiceSlots;
  #saving: Promise<unknown> = Promise.resolve();
  readonly #scaleDown = new Map<Color, Timer>();
  #closed = false;
  /** Each color's state (starting, held, serving, stopping…): its one owner. */
  readonly colors: Readonly<Record<Color, ColorState>>;
  /** Set from the moment a deployment is accepted until it ends: one at a time per service. */
  running: RunningDeployment | "claiming" | undefined;

  constructor(options: {
    name: string;
    config: ServiceConfig;
    configDir: string;
    slots: ServiceSlots;
    repository: SlotRepository;
    runtime: Runtime | undefined;
    monitor: HealthMonitor;
    clock: Clock;
    events: (color: Color) => GroupEvents;
  }) {
    this.name = options.name;
    this.config = options.config;
    this.#configDir = options.configDir;
    this.runtime = options.runtime;
    this.#repository = options.repository;
    this.#slots = options.slots;
    const group = (color: Color) =>
      new ColorGroup({
        service: options.name,
        color,
        runtime: options.runtime,
        monitor: options.monitor,
        health: effectiveHealth(options.config),
        clock: options.clock,
        events: options.events(color),
        restarts: () => this.colors[color].restarts,
      });
    this.groups = { blue: group("blue"), green: group("green") };
    const state = (color: Color) =>
      new ColorState(
        color,
        () => this.#slots[color],
        (patch) => this.#save(color, patch),
      );
    this.colors = { blue: state("blue"), green: state("green") };
    if (this.managed === false) for (const c of COLORS) this.groups[c].useStatic(options.config[c]);
  }

  /** True when teal starts the instances (process or docker runtime); false for static endpoints. */
  get managed(): boolean {
    return this.config.runtime.type !== "static";
  }

  slot(color: Color): ColorSlot {
    return this.#slots[color];
  }

  /**
   * Updates one color's slot in memory at once and in the store in order: writes are queued so
   * that two updates never race on the record's revision, and each writes the latest state. The
   * slot's `state` moves only through `colors[color]`.
   */
  setSlot(color: Color, patch: Partial<Omit<ColorSlot, "state">>): Promise<void> {
    return this.#save(color, patch);
  }

  /** The one writer of the slot's `state` is the color's ColorState. */
  #save(color: Color, patch: Partial<ColorSlot>): Promise<void> {
    this.#slots = { ...this.#slots, [color]: { ...this.#slots[color], ...patch } };
    const save = this.#saving.then(() => this.#repository.save(this.name, this.#slots));
    this.#saving = save.catch(() => {});
    return save;
  }

  /** How this color's version is started; the deploy's command and env override the config's. */
  plan(p: {
    version: string;
    seq: number;
    command: string | readonly string[] | null;
    env: Readonly<Record<string, string>>;
    image?: string | null;
  }): LaunchPlan {
    const rt = this.config.runtime;
    if (rt.type === "static") throw new Error(`${this.name} runs static endpoints, not instances`);
    if (rt.type === "docker") {
      return {
        version: p.version,
        seq: p.seq,
        command: p.command ?? rt.command ?? null,
        image: p.image ?? imageFor(rt.image, p.version),
        cwd: this.#configDir,
        env: { ...rt.env, ...p.env },
        instances: rt.instances,
        logMaxBytes: rt.logMaxBytes,
        stopSignal: rt.stopSignal,
        stopTimeoutMs: rt.stopTimeoutMs,
      };
    }
    return {
      version: p.version,
      seq: p.seq,
      command: p.command ?? rt.command,
      image: null,
      cwd: resolve(this.#configDir, rt.cwd ?? "."),
      env: { ...rt.env, ...p.env },
      instances: rt.instances,
      logMaxBytes: rt.logMaxBytes,
      stopSignal: rt.stopSignal,
      stopTimeoutMs: rt.stopTimeoutMs,
    };
  }

  /** The plan a slot was started with, to re-adopt or restart its instances. */
  planOfSlot(color: Color): LaunchPlan {
    const s = this.#slots[color];
    return this.plan({
      version: s.version ?? "unknown",
      seq: s.deploymentSeq ?? 0,
      command: s.command,
      env: s.env,
      image: s.image ?? null,
    });
  }

  scheduleScaleDown(color: Color, atMs: number, clock: Clock, run: () => void): void {
    this.cancelScaleDown(color);
    if (this.#closed) return;
    this.#scaleDown.set(
      color,
      clock.setTimeout(
        () => {
          this.#scaleDown.delete(color);
          run();
        },
        Math.max(0, atMs - clock.now()),
      ),
    );
  }

  cancelScaleDown(color: Color): void {
    this.#scaleDown.get(color)?.cancel();
    this.#scaleDown.delete(color);
  }

  /** No timer starts after this (teal is shutting down). */
  cancelTimers(): void {
    this.#closed = true;
    for (const c of COLORS) this.cancelScaleDown(c);
  }
}

/** The configured image with `{version}` filled in, e.g. "app:{version}" for v2 is "app:v2". */
export function imageFor(template: string, version: string): string {
  return template.replaceAll("{version}", version);
}
