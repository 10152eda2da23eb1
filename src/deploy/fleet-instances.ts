/**
 * What a deployment asks of the other nodes of a fleet (on etcd, with agents): the composition
 * root hands an implementation over in the DeployContext (src/fleet/instance-reports.ts); on
 * one node (SQLite) there is none and a deployment runs as it always has. The new color is
 * started on the other nodes through their tasks, written from this node's slots; here a
 * deployment only waits for their reports.
 */

import type { Color } from "../domain/color.ts";

export interface FleetInstances {
  /**
   * Resolves with the names of the other agent nodes once each reports every instance of `color`
   * of `service`, started for deployment `seq`, healthy. Rejects naming the first node whose
   * version failed to come up or that left the fleet. The caller aborts it at its deadline.
   */
  untilHealthy(service: string, color: Color, seq: number, signal: AbortSignal): Promise<readonly string[]>;
  /** The other agent nodes not (yet) healthy on that color, with why: for the deadline's message. */
  pending(service: string, color: Color, seq: number): readonly string[];
}
