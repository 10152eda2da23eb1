/**
 * What happens to running instances, told where users look: the server log and the history of
 * the deployment that put the color there. A live color with no instance left is said loudly.
 */

import type { Color } from "../domain/color.ts";
import { weightOf } from "../domain/routing.ts";
import type { GroupEvents } from "./color-group.ts";
import type { DeployContext } from "./lifecycle.ts";
import { RollbackRequest } from "./rollout-control.ts";
import type { ServiceUnit } from "./service-unit.ts";

/** `unit` looks the service up when an event comes: the unit is built after its groups. */
export function groupEvents(
  ctx: DeployContext,
  service: string,
  unit: () => ServiceUnit,
  color: Color,
): GroupEvents {
  const carriesTraffic = () => weightOf(ctx.controller.routing(service), color) > 0;
  /** Events go to the deployment that started this color's version, if teal started it. */
  const record = (type: "crash" | "restart" | "health", message: string, data?: Record<string, unknown>) => {
    const seq = unit().slot(color).deploymentSeq;
    // A node that does not lead runs its agent's instances: the history is the leader's to write.
    if (seq === null || ctx.leads?.() === false) return;
    ctx.journal
      .append(service, seq, type, message, data ? { data } : {})
      .catch((err) => ctx.log.error({ err, service }, "could not record an instance event"));
  };
  return {
    exited(id, exit, restartInMs) {
      const how = exit.signal ? `on signal ${exit.signal}` : `with code ${exit.code ?? "unknown"}`;
      const then = restartInMs === null ? "" : `; restarting in ${restartInMs} ms`;
      ctx.log.error({ service, color, instance: id, exit, restartInMs }, `instance exited ${how}${then}`);
      if (restartInMs === null) {
        // A deployment in progress: before traffic it fails by itself; during a canary, roll back.
        const running = unit().running;
        if (running !== undefined && running !== "claiming" && running.color === color) {
          running.control.abort(
            new RollbackRequest(`instance ${id} of the new version exited ${how}`, "crash", "teal"),
          );
        }
        return;
      }
      const group = unit().groups[color];
      const live = carriesTraffic();
      record("crash", `instance ${id} exited ${how}${then}`, { exit });
      if (live && group.endpoints().length === 0) {
        const message = `LIVE COLOR DOWN: every instance of ${service} ${color} has exited; requests fail until they are back`;
        ctx.log.error({ service, color }, message);
        record("crash", message);
      }
    },
    restarted(id, r) {
      ctx.log.warn({ service, color, instance: id, pid: r.pid, port: r.port }, "instance restarted");
      record("restart", `instance ${id} restarted (pid ${r.pid}, port ${r.port})`);
    },
    restartFailed(id, err) {
      ctx.log.error({ err, service, color, instance: id }, "instance restart failed");
      record("restart", `instance ${id} could not be restarted: ${(err as Error).message}`);
    },
    healthChanged(id, state, previous) {
      const why = state.lastProbe?.reason ? ` (${state.lastProbe.reason})` : "";
      const level = state.status === "healthy" ? "info" : "warn";
      ctx.log[level](
        { service, color, instance: id, from: previous.status, to: state.status },
        "instance health changed",
      );
      record("health", `instance ${id} is ${state.status}${why}`);
    },
    membersChanged() {
      const u = unit();
      const slot = u.slot(color);
      if (slot.state !== "running" && slot.state !== "starting") return;
      u.setSlot(color, { instances: u.groups[color].records() })
        .then(() => ctx.controller.refresh())
        .catch((err) => ctx.log.error({ err, service }, "could not save instance changes"));
    },
  };
}
