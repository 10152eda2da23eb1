/**
 * What the control plane hands the data plane: the whole routing world at one generation.
 * It is plain data so it can cross a process boundary (cluster workers) or come from a store.
 */

import type { RouteConfig } from "../config/schema.ts";
import type { Color } from "../domain/color.ts";
import type { RoutingState } from "../domain/routing.ts";
import type { TlsSettings } from "./tls.ts";

export interface ServiceSpec {
  readonly name: string;
  readonly routes: readonly RouteConfig[];
  readonly endpoints: Readonly<Record<Color, readonly string[]>>;
  readonly routing: RoutingState;
  readonly drainTimeoutMs: number;
  readonly pauseTimeoutMs: number;
  readonly override: { readonly header: string; readonly allowFrom: readonly string[] } | false;
  readonly sticky:
    | { readonly cookie?: string; readonly header?: string; readonly setCookie: boolean }
    | undefined;
  readonly allowlist: readonly string[];
}

/** Equal string lists (endpoint URLs, allowlists), whether or not they are the same array. */
export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}

export interface DataPlaneSpec {
  /** Increases with every change; a data plane ignores a spec older than the one it has. */
  readonly generation: number;
  readonly services: readonly ServiceSpec[];
}

/** Settings fixed for the life of a data plane process. */
export interface ProxySettings {
  readonly listen: string;
  /** Which engine runs the proxy (engines.ts); auto when left out. */
  readonly engine?: EngineSetting;
  /** An HTTPS listener beside `listen` (always on the node-http engine). */
  readonly tls?: TlsSettings;
  /** h2c by prior knowledge on `listen` beside HTTP/1.1 (the node-http engine only). */
  readonly h2c?: boolean;
  /**
   * Proxies whose X-Forwarded-For teal believes: the real client is the rightmost address in it that
   * is not one of these (nginx's realip with real_ip_recursive). Empty: every peer is the client.
   */
  readonly trustedProxies: readonly string[];
  readonly accessLog: boolean;
  readonly requestIdHeader: string;
  readonly maxHeaderBytes: number;
  readonly upstreamConnections: number;
  /** Requests that may wait for a connection of one endpoint's pool; beyond it, 503 at once. */
  readonly upstreamQueue: number;
  /** Requests one client address may have at the upstreams at once (a trusted proxy is not capped). */
  readonly clientRequests: number;
  /** A request body with a Content-Length up to this is read whole before an upstream connection is taken. */
  readonly requestBufferBytes: number;
  readonly timeouts: {
    readonly connectMs: number;
    readonly headersMs: number;
    readonly idleMs: number;
    readonly clientKeepAliveMs: number;
    /** How long a client may take to send its request headers (slowloris guard). */
    readonly clientHeadersMs: number;
    /** How long a request body may go without a byte (else 408). */
    readonly clientBodyMs: number;
    /** How long a client may read nothing of a response that waits on it (else it is closed). */
    readonly clientSendMs: number;
    /** How long a request may wait for an upstream connection (else 503). */
    readonly queueMs: number;
  };
}

/** The proxy engines: `fast` (Node's internal parser) and `node-http` (documented APIs only). */
export type EngineName = "fast" | "node-http";
/** What `proxy.engine` says: an engine, or `auto` (fast unless its start-up self-check fails). */
export type EngineSetting = "auto" | EngineName;
