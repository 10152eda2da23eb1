/**
 * The traffic gate over the deploy side's units: where each color's instances listen, whether
 * they may take traffic (every instance up and healthy), and whether a deployment holds the
 * service. The composition root hands it to the routing controller.
 */

import type { TrafficGate } from "../control/traffic-gate.ts";
import type { ServiceUnits } from "./service-units.ts";

export function unitTrafficGate(units: ServiceUnits): TrafficGate {
  return {
    endpoints: (service, color) => units.find(service)?.groups[color].endpoints() ?? [],
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
