/**
 * A strategy as the ordered steps the rollout walks: presets and blue-green become the same
 * shape as an explicit canary, so one runbook runs them all.
 */

import type { StepConfig, StrategyConfig } from "../config/schema.ts";

export type RolloutStep =
  | { readonly kind: "setWeight"; readonly weight: number }
  /** durationMs undefined: wait for `teal promote`. */
  | { readonly kind: "pause"; readonly durationMs: number | undefined }
  | {
      readonly kind: "analysis";
      readonly durationMs: number | undefined;
      readonly checks: readonly string[] | undefined;
    };

export interface RolloutPlan {
  /** The name users know: "blueGreen", "canary" or the preset's name. */
  readonly name: string;
  readonly steps: readonly RolloutStep[];
  /** After full promotion, the checks keep watching this long; a failure then still rolls back. */
  readonly monitorMs: number;
}

const MINUTE = 60_000;

export function rolloutPlan(strategy: StrategyConfig): RolloutPlan {
  if ("blueGreen" in strategy) {
    const steps: RolloutStep[] = strategy.blueGreen.autoPromote
      ? []
      : [{ kind: "pause", durationMs: undefined }];
    return { name: "blueGreen", steps, monitorMs: strategy.monitor };
  }
  if ("canary" in strategy) {
    return { name: "canary", steps: strategy.canary.steps.map(toStep), monitorMs: strategy.monitor };
  }
  return { name: strategy.preset, steps: presetSteps(strategy.preset), monitorMs: strategy.monitor };
}

function toStep(s: StepConfig): RolloutStep {
  if ("setWeight" in s) return { kind: "setWeight", weight: s.setWeight };
  if ("pause" in s) return { kind: "pause", durationMs: s.pause.duration };
  return { kind: "analysis", durationMs: s.analysis.duration, checks: s.analysis.checks };
}

/** The AWS CodeDeploy shapes: CanaryXPercentYMinutes and LinearXPercentEveryYMinute(s). */
export function presetSteps(name: string): RolloutStep[] {
  if (name === "AllAtOnce") return [];
  const canary = /^Canary(\d+)Percent(\d+)Minutes$/.exec(name);
  if (canary) {
    return [
      { kind: "setWeight", weight: Number(canary[1]) },
      { kind: "pause", durationMs: Number(canary[2]) * MINUTE },
    ];
  }
  const linear = /^Linear(\d+)PercentEvery(\d+)Minutes?$/.exec(name);
  if (linear) {
    const step = Number(linear[1]);
    const steps: RolloutStep[] = [];
    for (let w = step; w < 100; w += step) {
      steps.push({ kind: "setWeight", weight: w }, { kind: "pause", durationMs: Number(linear[2]) * MINUTE });
    }
    return steps;
  }
  throw new Error(`unknown preset ${name}`);
}
