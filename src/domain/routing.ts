/** A service's routing state and the pure transitions the operator can apply to it. */

import type { Color } from "./color.ts";

/**
 * What the proxy does with a service's traffic. `live` is the stable color (the one the
 * override and allowlist treat as "released"); `greenPercent` is the share of new, unpinned
 * requests that go to green (0..100). A plain switch sets both together.
 */
export interface RoutingState {
  readonly live: Color;
  readonly greenPercent: number;
  readonly paused: boolean;
  readonly maintenance: boolean;
}

export const INITIAL_ROUTING: RoutingState = {
  live: "blue",
  greenPercent: 0,
  paused: false,
  maintenance: false,
};

export type RoutingCommand =
  | { readonly kind: "switch"; readonly to: Color }
  | { readonly kind: "split"; readonly greenPercent: number }
  | { readonly kind: "pause" }
  | { readonly kind: "resume" }
  | { readonly kind: "maintenance"; readonly enabled: boolean };

export function applyRoutingCommand(state: RoutingState, command: RoutingCommand): RoutingState {
  switch (command.kind) {
    case "switch":
      return { ...state, live: command.to, greenPercent: command.to === "green" ? 100 : 0 };
    case "split":
      return { ...state, greenPercent: command.greenPercent };
    case "pause":
      return { ...state, paused: true };
    case "resume":
      return { ...state, paused: false };
    case "maintenance":
      return { ...state, maintenance: command.enabled };
  }
}

/** Percent of unpinned traffic that a color receives. */
export function weightOf(state: RoutingState, color: Color): number {
  return color === "green" ? state.greenPercent : 100 - state.greenPercent;
}

export function isRoutingState(value: unknown): value is RoutingState {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.live === "blue" || v.live === "green") &&
    Number.isInteger(v.greenPercent) &&
    (v.greenPercent as number) >= 0 &&
    (v.greenPercent as number) <= 100 &&
    typeof v.paused === "boolean" &&
    typeof v.maintenance === "boolean"
  );
}
