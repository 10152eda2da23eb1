/**
 * The traffic gate over the deploy side's units: where each color's instances listen, whether
 * they may take traffic (every instance up and healthy), and whether a deployment holds the
 * service. The composition root hands it to the routing controller. On a fleet, `served` says
 * which color's instances stand for a color on this node (a node drained by a quorum deployment
 * serves its previous color in place of the one that failed there; null: none).
 */

import type { TrafficGate } from "../control/traffic-gate.ts";
import type { Color } from "../domain/color.ts";
import type { ServiceUnits } from "./service-units.ts";

export function unitTrafficGate(
  units: ServiceUnits,
  served: (service: string, color: Color) => Color | null = (_, color) => color,
): TrafficGate {
  return {
    endpoints(service, color) {
      const from = served(service, color);
      return from === null ? [] : (units.find(service)?.groups[from].endpoints() ?? []);
    },
    refuseTraffic(service, color) {
      const unit = units.find(service);
      if (!unit) return undefined;
      if (!unit.managed && unit.config.health === undefined) return undefined;
      const r = unit.groups[color].readiness();
      return r.ok ? undefined : r.reason;
    },
    busy(service) {
      const running = units.find(service)?.running;
      if (running === undefined) return undefined;
      const which = running === "claiming" ? "" : ` (#${running.seq})`;
      return `a deployment of ${service} is running${which}; traffic moves with it: wait for it to finish, or use teal rollback afterwards`;
    },
  };
}
