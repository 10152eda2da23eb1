/** The data plane in this very process: one proxy, no IPC. Used for `workers: 1` and in tests. */

import type { AddressInfo } from "node:net";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import { DataPlane, type DataPlaneEvents } from "../proxy/data-plane.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ProxySettings } from "../traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../traffic/status.ts";

export class LocalDataPlane implements DataPlanePort {
  readonly #plane: DataPlane;

  constructor(settings: ProxySettings, events: DataPlaneEvents = {}) {
    this.#plane = new DataPlane(settings, events);
  }

  async listen(): Promise<string> {
    return formatAddress(await this.#plane.listen());
  }

  async apply(spec: DataPlaneSpec): Promise<void> {
    this.#plane.apply(spec);
  }

  async status(): Promise<ServiceRuntimeStatus[]> {
    return this.#plane.status();
  }

  async listenerStats(): Promise<ListenerStats> {
    return this.#plane.listenerStats();
  }

  close(): Promise<void> {
    return this.#plane.close();
  }
}

export function formatAddress(a: AddressInfo): string {
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
