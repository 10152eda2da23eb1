/** The data plane in this very process: one proxy, no IPC. Used for `workers: 1` and in tests. */

import type { AddressInfo } from "node:net";
import { DrainWaiters } from "../control/drain-wait.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import { DataPlane, type DataPlaneEvents, type ListenSockets } from "../proxy/data-plane.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ProxySettings } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import { HeldDrains } from "./held-drains.ts";
import type { ProxyHost } from "./proxy-host.ts";

export class LocalDataPlane implements ProxyHost {
  readonly #plane: DataPlane;
  readonly #drains: DrainWaiters;
  readonly #inherited: ListenSockets | undefined;
  /** The drains an apply finished at once, reported once its caller has answered. */
  readonly #heldDrains: HeldDrains;

  /** `inherited`: listening sockets handed over by the teal this one takes over from. */
  constructor(
    settings: ProxySettings,
    events: DataPlaneEvents = {},
    clock: Clock = systemClock,
    inherited?: ListenSockets,
  ) {
    this.#inherited = inherited;
    this.#drains = new DrainWaiters(clock, () => this.status());
    this.#heldDrains = new HeldDrains((service, report) => {
      events.drained?.(service, report);
      this.#drains.notify(service, report);
    });
    this.#plane = new DataPlane(settings, {
      ...events,
      drained: (service, report) => this.#heldDrains.drained(service, report),
    });
  }

  async listen(): Promise<string> {
    return formatAddress(await this.#plane.listen(this.#inherited));
  }

  listeningSockets(): ListenSockets | undefined {
    return this.#plane.listeningSockets();
  }

  handOff(graceMs = 10_000): Promise<void> {
    return this.#plane.close(graceMs, true);
  }

  tlsAddress(): string | undefined {
    const address = this.#plane.tlsAddress;
    return address === undefined ? undefined : formatAddress(address);
  }

  apply(spec: DataPlaneSpec): Promise<void> {
    return this.#heldDrains.during(() => this.#plane.apply(spec));
  }

  /** ACME (acme/orderer.ts): a certificate for the TLS listener, held in memory. */
  async provideCertificate(host: string, cert: string, key: string): Promise<void> {
    this.#plane.provideCertificate(host, cert, key);
  }

  /** ACME HTTP-01: answer this token on the plain listener (undefined: stop answering it). */
  async setChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    this.#plane.setChallenge(token, keyAuthorization);
  }

  /** ACME TLS-ALPN-01: serve this challenge certificate to `acme-tls/1` handshakes for `host`. */
  async setAlpnChallenge(host: string, pem: { cert: string; key: string } | undefined): Promise<void> {
    this.#plane.setAlpnChallenge(host, pem);
  }

  /** In slices: the proxy in this process keeps answering while 1,000 services are read. */
  async status(): Promise<ServiceRuntimeStatus[]> {
    return this.#plane.statusInSlices();
  }

  drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    return this.#drains.wait(service, color, timeoutMs);
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
