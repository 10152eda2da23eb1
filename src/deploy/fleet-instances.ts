/**
 * What a deployment asks of the other nodes of a fleet (on etcd, with agents): the composition
 * root hands an implementation over in the DeployContext (src/fleet/fleet-deployment.ts); on
 * one node (SQLite) there is none and a deployment runs as it always has. The new color is
 * started on the other nodes through their tasks, written from this node's slots; here a
 * deployment waits for their reports, and with a quorum (`fleet.quorum`) has the nodes where
 * it failed drained out of the routing.
 */

import type { Color } from "../domain/color.ts";

/** A node the deployment goes on without, and why. */
export interface NodeLeftOut {
  readonly node: string;
  readonly reason: string;
}

/** How the other agent nodes came out of the wait. */
export interface FleetWait {
  /** The nodes whose new color is healthy, sorted. */
  readonly healthy: readonly string[];
  /** With a quorum: live nodes where it failed or was not healthy in time (to be drained). */
  readonly failed: readonly NodeLeftOut[];
  /** With a quorum: nodes that left the fleet (their lease expired) during the wait. */
  readonly left: readonly NodeLeftOut[];
}

export interface FleetInstances {
  /**
   * Resolves once each other agent node reports every instance of `color` of `service`, started
   * for deployment `seq`, healthy; with a quorum, once enough did and every other one failed or
   * left. Rejects naming the node whose failure (or departure) makes the quorum (default: every
   * node) out of reach. The caller aborts it at its deadline, then asks `atDeadline`.
   */
  untilHealthy(service: string, color: Color, seq: number, signal: AbortSignal): Promise<FleetWait>;
  /**
   * At the deadline: the outcome if enough nodes are healthy for the quorum (the ones still
   * starting count as failed), else undefined. Always undefined without a quorum.
   */
  atDeadline(service: string, color: Color, seq: number, timeoutMs: number): FleetWait | undefined;
  /** The other agent nodes not (yet) healthy on that color, with why: for the deadline's message. */
  pending(service: string, color: Color, seq: number): readonly string[];
  /**
   * The deployment goes on with `wait.healthy`: drains `wait.failed` out of the routing of
   * `service` (their proxies serve `serving`, the previous color, instead of `color`) and ends
   * the drain of the healthy ones. Resolves once the drained nodes report it (or left), within
   * `timeoutMs`, so that none routes to its failed color after the switch.
   */
  settle(
    service: string,
    color: Color,
    serving: Color,
    wait: FleetWait,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void>;
}
