/**
 * Pure: which address, weight and state every server slot must have for a service spec. A color
 * with a share gets its instances on its first slots, weighted so the color's share is exact;
 * a color without a share drains; slots without an instance are in maintenance.
 */

import { COLORS, type Color } from "../../domain/color.ts";
import { weightOf } from "../../domain/routing.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";
import type { ServerState } from "./servers-state.ts";

/** HAProxy's largest server weight. */
const MAX_WEIGHT = 256;

export interface SlotTarget {
  readonly backend: string;
  readonly name: string;
  readonly color: Color;
  readonly state: "ready" | "drain" | "maint";
  /** Set only for slots that serve an instance. */
  readonly host?: string;
  readonly port?: number;
  readonly weight?: number;
}

export type SlotNames = Readonly<Record<Color, readonly string[]>>;

/** The slots of the main backend. Throws when a color has more instances than slots. */
export function planMainBackend(backend: string, slots: SlotNames, spec: ServiceSpec): SlotTarget[] {
  return COLORS.flatMap((color) => {
    const percent = weightOf(spec.routing, color);
    const endpoints = spec.endpoints[color];
    const state = spec.routing.maintenance ? "maint" : percent > 0 ? "ready" : "drain";
    const targets = fill(backend, color, slots[color], endpoints, state, 1);
    if (state !== "ready") return targets;
    // The color's share as a whole weight out of MAX_WEIGHT, spread over as many instances as
    // it can feed with weights of at least 1: a small share over many instances is not overshot
    // (1% on 10 instances is 3 of them at weight 1, not 10), a large one is split evenly.
    const total = Math.max(1, Math.round((percent * MAX_WEIGHT) / 100));
    const serving = Math.min(total, endpoints.length);
    let i = 0;
    return targets.map((t) => {
      if (t.host === undefined) return t;
      const n = i++;
      if (n >= serving) return { ...t, state: "drain" };
      return { ...t, weight: Math.floor(total / serving) + (n < total % serving ? 1 : 0) };
    });
  });
}

/**
 * The slots of a one-color backend the override header selects: every instance, equal weight.
 * With `override: false` nobody may pick a color by header: every slot is in maintenance.
 */
export function planColorBackend(
  backend: string,
  color: Color,
  slots: readonly string[],
  spec: ServiceSpec,
): SlotTarget[] {
  const off = spec.routing.maintenance || spec.override === false;
  return fill(backend, color, slots, spec.endpoints[color], off ? "maint" : "ready", 1);
}

function fill(
  backend: string,
  color: Color,
  slots: readonly string[],
  endpoints: readonly string[],
  state: SlotTarget["state"],
  weight: number,
): SlotTarget[] {
  if (endpoints.length > slots.length) {
    throw new Error(
      `backend ${backend} has ${slots.length} ${color} server slots but ${color} has ${endpoints.length} instances: declare more slots (server-template ${slots[0]?.replace(/\d+$/, "") ?? color} 1-${endpoints.length} 127.0.0.1:1 disabled)`,
    );
  }
  return slots.map((name, i) => {
    const url = endpoints[i];
    if (url === undefined) return { backend, name, color, state: "maint" };
    const u = new URL(url);
    return {
      backend,
      name,
      color,
      state,
      host: u.hostname.replace(/^\[|\]$/g, ""),
      // URL leaves the port empty when it is the default (http://host or http://host:80).
      port: u.port === "" ? 80 : Number(u.port),
      weight,
    };
  });
}

/** Whether a slot already is as planned. */
export function slotMatches(target: SlotTarget, actual: ServerState | undefined): boolean {
  if (!actual || actual.state !== target.state) return false;
  if (target.host === undefined) return true;
  return actual.host === target.host && actual.port === target.port && actual.weight === target.weight;
}

/** Runtime API commands that move a slot from `actual` to `target`. */
export function slotCommands(target: SlotTarget, actual: ServerState | undefined): string[] {
  const id = `${target.backend}/${target.name}`;
  const commands: string[] = [];
  if (target.host !== undefined && (actual?.host !== target.host || actual.port !== target.port)) {
    commands.push(`set server ${id} addr ${target.host} port ${target.port}`);
  }
  if (target.weight !== undefined && actual?.weight !== target.weight)
    commands.push(`set weight ${id} ${target.weight}`);
  if (actual?.state !== target.state) commands.push(`set server ${id} state ${target.state}`);
  return commands;
}

/** Slots that gain traffic go first, so that a switch never leaves a moment with no server. */
export function orderForSwitch(targets: readonly SlotTarget[]): SlotTarget[] {
  return [...targets.filter((t) => t.state === "ready"), ...targets.filter((t) => t.state !== "ready")];
}
