/**
 * An instance's health as a pure state machine over probe outcomes. Thresholds make it flap-proof:
 * one failed probe never takes a healthy instance out (kamal-proxy's weak spot), and one lucky
 * probe never puts a broken one in.
 */

export type HealthStatus = "unknown" | "healthy" | "unhealthy";

/** The result of one health probe; an expected outcome, never an exception. */
export interface ProbeOutcome {
  readonly ok: boolean;
  /** Wall-clock milliseconds when the probe finished. */
  readonly atMs: number;
  readonly latencyMs: number;
  /** The HTTP status, when a response arrived. */
  readonly status?: number;
  /** Why the probe failed, for people: "connection refused", "status 500 (expected 200)". */
  readonly reason?: string;
  /** The version the instance reports in its health body, when it reports one. */
  readonly version?: string;
}

export interface HealthState {
  readonly status: HealthStatus;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly lastProbe?: ProbeOutcome;
}

export interface HealthThresholds {
  /** Consecutive successes that make an unknown or unhealthy instance healthy (>= 1). */
  readonly healthyThreshold: number;
  /** Consecutive failures that make an unknown or healthy instance unhealthy (>= 1). */
  readonly unhealthyThreshold: number;
}

export const INITIAL_HEALTH: HealthState = {
  status: "unknown",
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
};

/** The state after one more probe: a streak flips the status only once it reaches its threshold. */
export function nextHealth(
  state: HealthState,
  outcome: ProbeOutcome,
  thresholds: HealthThresholds,
): HealthState {
  const consecutiveSuccesses = outcome.ok ? state.consecutiveSuccesses + 1 : 0;
  const consecutiveFailures = outcome.ok ? 0 : state.consecutiveFailures + 1;
  return {
    status: nextStatus(state.status, consecutiveSuccesses, consecutiveFailures, thresholds),
    consecutiveSuccesses,
    consecutiveFailures,
    lastProbe: outcome,
  };
}

function nextStatus(
  status: HealthStatus,
  successes: number,
  failures: number,
  { healthyThreshold, unhealthyThreshold }: HealthThresholds,
): HealthStatus {
  switch (status) {
    case "unknown":
      if (successes >= healthyThreshold) return "healthy";
      if (failures >= unhealthyThreshold) return "unhealthy";
      return "unknown";
    case "healthy":
      return failures >= unhealthyThreshold ? "unhealthy" : "healthy";
    case "unhealthy":
      return successes >= healthyThreshold ? "healthy" : "unhealthy";
  }
}
