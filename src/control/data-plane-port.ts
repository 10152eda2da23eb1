/**
 * How the control plane drives traffic. Implemented in-process (one proxy in this process), by
 * a cluster of proxy worker processes, and later by nodes that follow a shared store.
 */

import type { Color } from "../domain/color.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";

export interface DataPlanePort {
  /** Resolves once every request that starts from now on is routed by this spec. */
  apply(spec: DataPlaneSpec): Promise<void>;
  /**
   * Runtime view per service, merged across processes. A service of teal's own proxy whose view
   * did not change since the previous read comes back as the same object, and proxy workers send
   * only the views that changed: an idle read of 1,000 services costs next to nothing.
   */
  status(): Promise<ServiceRuntimeStatus[]>;
  /** Counters of teal's own listener, summed across processes. */
  listenerStats(): Promise<ListenerStats>;
  /**
   * Resolves once the color's drain has ended in every process (undefined: it has none), woken
   * by the data plane's drain events; after `timeoutMs` on the data plane's clock, with the
   * report as it stands (possibly still draining).
   */
  drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined>;
  /**
   * Starts serving. The caller applies the first spec before this, so the very first request
   * is routed by the stored state. Returns the listening address, e.g. 127.0.0.1:8080.
   */
  listen(): Promise<string>;
  /**
   * proxy.tls's listening address once listen() has resolved; undefined without proxy.tls.
   * Optional: a data plane without a TLS listener (a fake, a router's) need not say so.
   */
  tlsAddress?(): string | undefined;
  close(): Promise<void>;
}
