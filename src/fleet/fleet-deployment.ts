/**
 * The fleet's side of a deployment on the leader (the DeployContext's `fleet`): the waits on the
 * other nodes' reports (instance-reports.ts) and, when a quorum deployment goes on without some
 * nodes, their drain: the leader writes it on their tasks (task-writer.ts) and waits until each
 * drained node reports that its proxy serves its previous color in the failed one's place, so
 * that the switch that follows never sends a drained node's traffic to the version that failed
 * there.
 */

import type { FleetInstances, FleetWait } from "../deploy/fleet-instances.ts";
import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { Logger } from "../log/logger.ts";
import type { InstanceReports } from "./instance-reports.ts";
import type { TaskWriter } from "./task-writer.ts";

export class FleetDeployment implements FleetInstances {
  readonly #reports: InstanceReports;
  readonly #writer: () => TaskWriter | undefined;
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(reports: InstanceReports, writer: () => TaskWriter | undefined, clock: Clock, log: Logger) {
    this.#reports = reports;
    this.#writer = writer;
    this.#clock = clock;
    this.#log = log;
  }

  untilHealthy(service: string, color: Color, seq: number, signal: AbortSignal): Promise<FleetWait> {
    return this.#reports.untilHealthy(service, color, seq, signal);
  }

  atDeadline(service: string, color: Color, seq: number, timeoutMs: number): FleetWait | undefined {
    return this.#reports.atDeadline(service, color, seq, timeoutMs);
  }

  pending(service: string, color: Color, seq: number): readonly string[] {
    return this.#reports.pending(service, color, seq);
  }

  async settle(
    service: string,
    color: Color,
    serving: Color,
    wait: FleetWait,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    // A drained node serves its previous color only where that color is healthy; else nothing.
    const servingOn = (node: string): Color | null =>
      serving !== color && this.#reports.report(node, service, serving)?.health === "healthy"
        ? serving
        : null;
    await this.#writer()?.drain(service, color, wait, servingOn);
    const drained = wait.failed.map((f) => f.node);
    if (drained.length === 0) return;
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = this.#clock.setTimeout(() => ctl.abort(new Error("timeout")), timeoutMs);
    try {
      await this.#reports.untilDrained(service, color, drained, ctl.signal);
    } catch (err) {
      if (signal.aborted) throw err;
      // The node is failing anyway; the deployment does not wait on it any longer.
      this.#log.warn(
        { service, color, nodes: drained },
        `drained node(s) did not confirm the drain within ${timeoutMs} ms`,
      );
    } finally {
      timer.cancel();
      signal.removeEventListener("abort", onAbort);
    }
  }
}
