/**
 * The records between the leader and each node's agent, and their keys (values are JSON):
 *
 * - `tasks/<node>/<service>/<color>`: what the leader wants that node to run on that color,
 *   `{"action":"run","deployment":7,"version":"v2","command":…,"env":{…},"image":null}` or
 *   `{"action":"stop","deployment":7,…}`. Written by the leader only, not on a lease: a node keeps
 *   running its instances when the leader dies. A node drained by a quorum deployment (its new
 *   color failed there, enough others came up) finds the drain on that color's task:
 *   `"drained":{"serving":"blue","reason":"…"}`, so the leader's decision outlives the leader.
 * - `instances/<node>/<service>/<color>`: what that node runs there and how it is,
 *   `{"version":"v2","deployment":7,"health":"healthy","detail":null,"instances":[…],"time":"…"}`.
 *   Written by the node on its own lease: a dead node's reports vanish with it.
 */

import { COLORS, type Color } from "../domain/color.ts";

export const TASKS_PREFIX = "tasks/";
export const INSTANCES_PREFIX = "instances/";

export const taskKey = (node: string, service: string, color: Color): string =>
  `${TASKS_PREFIX}${node}/${service}/${color}`;
export const instancesKey = (node: string, service: string, color: Color): string =>
  `${INSTANCES_PREFIX}${node}/${service}/${color}`;

/** What the leader asks of one node's color of one service. */
export interface NodeTask {
  readonly action: "run" | "stop";
  /** The deployment that put this version there (null: none known). */
  readonly deployment: number | null;
  readonly version: string | null;
  readonly command: string | readonly string[] | null;
  readonly env: Readonly<Record<string, string>>;
  readonly image: string | null;
  /**
   * Set on the task of a color that failed on this node while the deployment went on with a
   * quorum of nodes: the node serves `serving` (what it ran before, still healthy there) in its
   * place, or nothing (null) when it has no such color.
   */
  readonly drained?: Drain;
}

/** A node out of the fleet's routing for one service: why, and what its proxy serves instead. */
export interface Drain {
  readonly serving: Color | null;
  readonly reason: string;
}

export type InstanceHealth = "starting" | "healthy" | "failed";

/** One instance as a node reports it. */
export interface ReportedInstance {
  readonly id: string;
  readonly url: string;
  readonly pid: number | null;
  readonly containerId: string | null;
  readonly alive: boolean;
}

/** What a node runs on one color of one service, and how it is. */
export interface InstanceReport {
  readonly version: string | null;
  readonly deployment: number | null;
  /** starting: not every instance is healthy yet; failed: it did not come up (see detail). */
  readonly health: InstanceHealth;
  /** Why it is not healthy (the instance that exited, the probe that failed), else null. */
  readonly detail: string | null;
  readonly instances: readonly ReportedInstance[];
  /** When the node wrote it (ISO 8601). */
  readonly time: string;
  /** This color failed here and the node is drained: its proxy serves `serving` in its place. */
  readonly drained?: Drain;
}

/** `<node>/<service>/<color>` from a key under tasks/ or instances/, or undefined. */
export function splitAgentKey(
  key: string,
  prefix: string,
): { node: string; service: string; color: Color } | undefined {
  const parts = key.slice(prefix.length).split("/");
  if (parts.length !== 3) return undefined;
  const [node, service, color] = parts as [string, string, string];
  if (!(COLORS as readonly string[]).includes(color)) return undefined;
  return { node, service, color: color as Color };
}

export function parseTask(value: string): NodeTask | undefined {
  try {
    const t = JSON.parse(value) as Partial<NodeTask>;
    if ((t.action === "run" || t.action === "stop") && typeof t.env === "object" && t.env !== null) {
      return {
        action: t.action,
        deployment: typeof t.deployment === "number" ? t.deployment : null,
        version: typeof t.version === "string" ? t.version : null,
        command: t.command ?? null,
        env: t.env,
        image: typeof t.image === "string" ? t.image : null,
        ...parseDrain(t.drained),
      };
    }
  } catch {}
  return undefined;
}

export function parseReport(value: string): InstanceReport | undefined {
  try {
    const r = JSON.parse(value) as Partial<InstanceReport>;
    if (
      (r.health === "starting" || r.health === "healthy" || r.health === "failed") &&
      Array.isArray(r.instances) &&
      typeof r.time === "string"
    ) {
      return {
        version: typeof r.version === "string" ? r.version : null,
        deployment: typeof r.deployment === "number" ? r.deployment : null,
        health: r.health,
        detail: typeof r.detail === "string" ? r.detail : null,
        instances: r.instances,
        time: r.time,
        ...parseDrain(r.drained),
      };
    }
  } catch {}
  return undefined;
}

function parseDrain(d: Partial<Drain> | undefined): { drained?: Drain } {
  if (typeof d !== "object" || d === null || typeof d.reason !== "string") return {};
  const serving = (COLORS as readonly unknown[]).includes(d.serving) ? (d.serving as Color) : null;
  return { drained: { serving, reason: d.reason } };
}

/** The same task but for its drain: carrying it out again would change nothing on the node. */
export function sameWork(a: NodeTask | undefined, b: NodeTask | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const { drained: _a, ...restA } = a;
  const { drained: _b, ...restB } = b;
  return sameTask(restA, restB);
}

/** Two tasks ask the same thing (the leader skips rewriting it). */
export function sameTask(a: NodeTask | undefined, b: NodeTask | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
