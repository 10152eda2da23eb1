/**
 * teal driving a running HAProxy through its runtime API: server addresses, weights and
 * drain/maint states in pre-declared slots, so a switch and every canary step happen without a
 * reload. What teal set survives HAProxy restarts twice over: teal writes `show servers state`
 * to the server-state file after each change, and re-applies its spec when HAProxy's pid changes.
 */

import { CAPABILITIES } from "../../config/capabilities.ts";
import type { HaproxyRouterConfig } from "../../config/router-schema.ts";
import { COLORS, type Color } from "../../domain/color.ts";
import { TealError } from "../../domain/errors.ts";
import { writeFileAtomic } from "../../fs/atomic-file.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../../traffic/status.ts";
import { DrainTracker } from "../drain-tracker.ts";
import { type Router, refusal, routedEndpoints } from "../router.ts";
import { RuntimeApi } from "./runtime-api.ts";
import { ServerCounters } from "./server-counters.ts";
import { parseServersState, parseStat, type ServerStat, type ServerState } from "./servers-state.ts";
import {
  orderForSwitch,
  planColorBackend,
  planMainBackend,
  type SlotNames,
  type SlotTarget,
  slotCommands,
  slotMatches,
} from "./slot-plan.ts";

export interface HaproxyRouterOptions {
  readonly service: string;
  readonly config: HaproxyRouterConfig;
  readonly onWarning?: (message: string) => void;
}

export class HaproxyRouter implements Router {
  readonly kind = "haproxy" as const;
  readonly capabilities = CAPABILITIES.haproxy;
  readonly #service: string;
  readonly #config: HaproxyRouterConfig;
  readonly #api: RuntimeApi;
  readonly #onWarning: (message: string) => void;
  readonly #counters = new ServerCounters();
  readonly #drains = new DrainTracker();
  #desired: ServiceSpec | undefined;
  #generation = 0;
  /** HAProxy's pid when teal last put the desired spec in force; undefined: not in force. */
  #appliedPid: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HaproxyRouterOptions) {
    this.#service = options.service;
    this.#config = options.config;
    this.#api = new RuntimeApi(options.config.socket);
    this.#onWarning = options.onWarning ?? (() => {});
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#reconcile(), this.#config.reconcileIntervalMs).unref();
  }

  async apply(spec: ServiceSpec, generation: number): Promise<void> {
    const refused = refusal(spec, this.kind, this.capabilities);
    if (refused !== undefined) throw refused;
    const before = this.#desired;
    this.#desired = spec;
    this.#generation = generation;
    await this.#serialized(() => this.#push(spec));
    this.#drains.follow(before, spec);
  }

  async status(): Promise<ServiceRuntimeStatus> {
    const stats = parseStat(await this.#api.run("show stat")).filter((s) => this.#colorOf(s) !== undefined);
    this.#counters.add(stats, (s) => this.#colorOf(s));
    const inFlight = (color: Color) =>
      stats.filter((s) => this.#colorOf(s) === color).reduce((n, s) => n + s.current, 0);
    const spec = this.#desired;
    return {
      service: this.#service,
      generation: this.#generation,
      held: 0,
      drains: this.#drains.reports((color) => inFlight(color)),
      endpoints: routedEndpoints(spec),
      stats: {
        blue: this.#counters.snapshot("blue", inFlight("blue")),
        green: this.#counters.snapshot("green", inFlight("green")),
      },
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#queue;
  }

  /** Sets every slot that differs, then reads all of them back: resolves only when HAProxy runs the spec. */
  async #push(spec: ServiceSpec): Promise<void> {
    try {
      this.#appliedPid = undefined;
      // Read before anything is set: an HAProxy reloaded in the middle of this push has another
      // pid by its end, which reconcile then sees, and pushes again.
      const pidBefore = await this.#pid();
      const actual = await this.#readState();
      const targets = this.#plan(spec, actual);
      for (const t of orderForSwitch(targets)) {
        for (const command of slotCommands(t, find(actual, t))) await this.#api.set(command);
      }
      const after = await this.#readState();
      const wrong = targets.filter((t) => !slotMatches(t, find(after, t)));
      if (wrong.length > 0) {
        throw new Error(
          `after setting, ${wrong.map((t) => `${t.backend}/${t.name}`).join(", ")} still differ`,
        );
      }
      this.#appliedPid = pidBefore;
      if (this.#config.stateFile)
        await writeFileAtomic(this.#config.stateFile, await this.#api.run("show servers state"), 0o644);
    } catch (err) {
      throw new TealError(
        "ROUTER_FAILED",
        `haproxy router of ${spec.name} (${this.#config.socket}, backend ${this.#config.backend}) failed: ${(err as Error).message}`,
        { cause: err, details: { service: spec.name } },
      );
    }
  }

  #plan(spec: ServiceSpec, state: readonly ServerState[]): SlotTarget[] {
    const { backend, overrideBackends } = this.#config;
    const targets = planMainBackend(backend, this.#slots(state, backend), spec);
    if (overrideBackends) {
      for (const color of COLORS) {
        const b = overrideBackends[color];
        targets.push(...planColorBackend(b, color, this.#slots(state, b)[color], spec));
      }
    }
    return targets;
  }

  /** The slots a backend declares, by color prefix and number: blue1, blue2, … */
  #slots(state: readonly ServerState[], backend: string): SlotNames {
    const names = (color: Color) => {
      const pattern = new RegExp(`^${escapeRegExp(this.#config.slots[color])}(\\d+)$`);
      return state
        .filter((s) => s.backend === backend && pattern.test(s.name))
        .map((s) => s.name)
        .sort((a, b) => Number(pattern.exec(a)![1]) - Number(pattern.exec(b)![1]));
    };
    const slots = { blue: names("blue"), green: names("green") };
    if (slots.blue.length === 0 && slots.green.length === 0) {
      throw new Error(
        `backend ${backend} has no ${this.#config.slots.blue}N/${this.#config.slots.green}N server slots: add server-template lines (see the README)`,
      );
    }
    return slots;
  }

  async #readState(): Promise<ServerState[]> {
    const backends = [this.#config.backend, ...Object.values(this.#config.overrideBackends ?? {})];
    const parts = await Promise.all(backends.map((b) => this.#api.run(`show servers state ${b}`)));
    parts.forEach((text, i) => {
      if (!/^1\s*\n/.test(text)) throw new Error(`backend ${backends[i]}: ${text.trim() || "no answer"}`);
    });
    return parts.flatMap(parseServersState);
  }

  async #pid(): Promise<string | undefined> {
    return /^Pid: (\d+)/m.exec(await this.#api.run("show info"))?.[1];
  }

  /** HAProxy restarted or reloaded (new pid), or the last push failed: push the spec again. */
  async #reconcile(): Promise<void> {
    const spec = this.#desired;
    if (spec === undefined) return;
    await this.#serialized(async () => {
      const pid = await this.#pid().catch(() => undefined);
      if (pid === undefined || (this.#appliedPid === pid && this.#desired === spec)) return;
      await this.#push(spec);
      this.#onWarning(
        `haproxy for ${this.#service} restarted or was unreachable; teal re-applied its routing`,
      );
    }).catch((err) => this.#onWarning((err as Error).message));
  }

  #colorOf(s: ServerStat): Color | undefined {
    const backends = [this.#config.backend, ...Object.values(this.#config.overrideBackends ?? {})];
    if (!backends.includes(s.backend)) return undefined;
    return COLORS.find((c) => new RegExp(`^${escapeRegExp(this.#config.slots[c])}\\d+$`).test(s.name));
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

function find(state: readonly ServerState[], t: SlotTarget): ServerState | undefined {
  return state.find((s) => s.backend === t.backend && s.name === t.name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
