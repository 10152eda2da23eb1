/**
 * A deployment and its lifecycle, as pure data: the phases it walks through in order, how it
 * ends, and the timestamped events that explain it. The deployer drives it; the store keeps it.
 */

import type { Comparison, LastComparison } from "./analysis.ts";
import type { Color } from "./color.ts";
import { TealError } from "./errors.ts";

export type DeploymentKind = "deploy" | "rollback";

/** In the order a deployment walks them; `PHASE_MOVES` says which step may follow which. */
export const PHASES = [
  "starting",
  "health",
  "smoke",
  "rollout",
  "switching",
  "draining",
  "monitoring",
  "finished",
] as const;
export type DeploymentPhase = (typeof PHASES)[number];

/**
 * The moves a deployment may make. Optional phases may be skipped (no smoke checks; a first
 * version goes live without a rollout), it may finish from any phase, and it never goes back:
 * a record that says "draining" has switched traffic, whatever happens next.
 */
export const PHASE_MOVES: Readonly<Record<DeploymentPhase, readonly DeploymentPhase[]>> = {
  starting: ["health", "finished"],
  health: ["smoke", "rollout", "finished"],
  smoke: ["rollout", "finished"],
  rollout: ["switching", "finished"],
  // An instant rollback starts here: a switch back to a color that still runs.
  switching: ["draining", "finished"],
  draining: ["monitoring", "finished"],
  monitoring: ["finished"],
  finished: [],
};

/** The record moved to `to`; throws CONFLICT for a move the table does not allow. */
export function movePhase(d: Deployment, to: DeploymentPhase): Deployment {
  if (!PHASE_MOVES[d.phase].includes(to)) {
    throw new TealError(
      "CONFLICT",
      `deployment #${d.seq} of ${d.service} cannot move from phase ${d.phase} to ${to}`,
      { details: { service: d.service, seq: d.seq, from: d.phase, to } },
    );
  }
  return { ...d, phase: to };
}

export type DeploymentOutcome = "running" | "succeeded" | "failed" | "rolled_back";

/**
 * Why a deployment ended rolled back. "operator": it had succeeded and an operator undid it with
 * `teal rollback` (the rollback deployment is in `rolledBackBy`). Every other cause is teal itself
 * sending traffic back during the rollout: a failed analysis check, a failed hook, an instance of
 * the new version that exited, `teal abort`, teal shutting down, or an unexpected error.
 */
export const ROLLBACK_CAUSES = [
  "operator",
  "analysis",
  "hook",
  "crash",
  "abort",
  "shutdown",
  "error",
] as const;
export type RollbackCause = (typeof ROLLBACK_CAUSES)[number];

export type DeploymentEventType =
  | "phase"
  | "instance"
  | "pull"
  | "health"
  | "smoke"
  | "switch"
  | "drain"
  | "scale_down"
  | "failure"
  | "rollback"
  | "recovery"
  | "crash"
  | "restart"
  | "step"
  | "analysis"
  | "hook"
  | "promote"
  | "pause"
  | "migration";

export interface DeploymentEvent {
  /** ISO timestamp. */
  readonly at: string;
  readonly type: DeploymentEventType;
  readonly message: string;
  /** Who or what caused it: "cli", "api", "teal" (the controller itself). */
  readonly actor: string;
  readonly data?: Record<string, unknown>;
}

export interface Deployment {
  readonly service: string;
  /** 1, 2, 3… per service; the deployment's id in the API and the CLI. */
  readonly seq: number;
  readonly kind: DeploymentKind;
  readonly version: string;
  /** The color the version is deployed to. */
  readonly color: Color;
  /** What was live when the deployment started, and the deployment that had put it there. */
  readonly from: { readonly color: Color; readonly version: string | null; readonly seq: number | null };
  readonly command: string | readonly string[] | null;
  /** The image deployed (docker runtime), so that a rollback runs the previous one; absent otherwise. */
  readonly image?: string | null;
  /** Extra environment given with the deploy (values are shown only as keys in logs). */
  readonly env: Readonly<Record<string, string>>;
  readonly actor: string;
  readonly phase: DeploymentPhase;
  readonly outcome: DeploymentOutcome;
  readonly reason: string | null;
  /** For a rollback: the deployment it undid. */
  readonly rollbackOf: number | null;
  /** Set on a deployment that a later rollback undid. */
  readonly rolledBackBy: number | null;
  /**
   * Why it ended rolled back (null otherwise). Records written before teal kept it read as
   * "operator" when `rolledBackBy` is set, else null.
   */
  readonly rollbackCause: RollbackCause | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** How traffic moves to the new version, and where that stands (null for a plain switch). */
  readonly rollout?: RolloutStatus | null;
  /** The schema migration this deployment expanded, and where it stands (absent: none). */
  readonly migration?: DeploymentMigration | null;
  readonly events: readonly DeploymentEvent[];
}

/**
 * A deployment's schema migration: expanded before its color starts, contracted once the old
 * color is retired, rolled back with a deployment that rolls back.
 */
export interface DeploymentMigration {
  readonly name: string;
  /** The schema of views the new version runs on (its TEAL_DB_SCHEMA). */
  readonly schema: string;
  readonly phase: "expanding" | "expanded" | "contracting" | "done" | "rolled_back";
}

/** One analysis check as status and history show it. */
export interface CheckView {
  readonly name: string;
  readonly metric: string;
  readonly thresholds: Readonly<Record<string, number>>;
  /** The statistical form's settings, when the check compares the colors by a test. */
  readonly compare?: { readonly confidence: number; readonly tolerance: number };
  /** The latest statistical comparison made (kept once later measurements turn inconclusive). */
  readonly lastComparison?: LastComparison;
  readonly result: "running" | "passed" | "failed" | "inconclusive";
  readonly passes: number;
  readonly failures: number;
  readonly inconclusives: number;
  readonly last: {
    readonly at: string;
    readonly verdict: "pass" | "fail" | "inconclusive" | "error";
    readonly reason: string;
    readonly value: number | null;
    readonly stableValue: number | null;
    readonly sampleSize: number | null;
    /** Seconds in which both colors served, compared by relative thresholds and `compare`. */
    readonly sharedSlices?: number;
    /** The statistical comparison's numbers (compare checks). */
    readonly comparison?: Comparison;
  } | null;
}

export interface RolloutStatus {
  readonly strategy: string;
  /** 1-based index of the step in progress; 0 before the first, steps + 1 once promoted. */
  readonly step: number;
  readonly steps: number;
  readonly stepText: string;
  /** Share of unpinned traffic on the new color. */
  readonly weight: number;
  /** Paused by the operator (`teal pause --rollout`). */
  readonly paused: boolean;
  /** What the rollout waits for, e.g. "teal promote" (null: nothing). */
  readonly waiting: string | null;
  readonly checks: readonly CheckView[];
}

/** Events kept per deployment; older ones are dropped first (a crash loop must not grow forever). */
export const MAX_EVENTS = 500;

export function isFinished(d: Deployment): boolean {
  return d.outcome !== "running";
}

export function withEvent(d: Deployment, event: DeploymentEvent): Deployment {
  const events = [...d.events, event];
  return { ...d, events: events.length > MAX_EVENTS ? events.slice(-MAX_EVENTS) : events };
}

export function durationMs(d: Deployment): number | null {
  return d.finishedAt === null ? null : Date.parse(d.finishedAt) - Date.parse(d.startedAt);
}

/** A loose structural check for records read back from the store. */
export function isDeployment(v: unknown): v is Deployment {
  if (typeof v !== "object" || v === null) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.service === "string" &&
    Number.isInteger(d.seq) &&
    typeof d.version === "string" &&
    (d.color === "blue" || d.color === "green") &&
    PHASES.includes(d.phase as DeploymentPhase) &&
    ["running", "succeeded", "failed", "rolled_back"].includes(d.outcome as string) &&
    Array.isArray(d.events)
  );
}
