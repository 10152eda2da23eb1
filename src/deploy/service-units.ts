/**
 * Every configured service as the deploy side sees it, by name. Filled once at start (adoption.ts)
 * and read by the deployer, the traffic gate, recovery and the status views.
 */

import { serviceNotFound } from "../control/routing-controller.ts";
import type { ServiceUnit } from "./service-unit.ts";

export class ServiceUnits {
  readonly #units = new Map<string, ServiceUnit>();

  add(unit: ServiceUnit): void {
    this.#units.set(unit.name, unit);
  }

  /** The unit of a configured service; throws SERVICE_NOT_FOUND naming the known ones. */
  get(service: string): ServiceUnit {
    const unit = this.#units.get(service);
    if (!unit) throw serviceNotFound(service, [...this.#units.keys()]);
    return unit;
  }

  /** The unit, or undefined (before the start has loaded it, or for an unknown name). */
  find(service: string): ServiceUnit | undefined {
    return this.#units.get(service);
  }

  all(): ServiceUnit[] {
    return [...this.#units.values()];
  }

  /** The last step of a graceful stop, once the proxy has drained: every instance is stopped. */
  async stopInstances(): Promise<void> {
    await Promise.all(this.all().flatMap((u) => [u.groups.blue.stop(), u.groups.green.stop()]));
  }
}
