/** IPC between the control process and its proxy worker processes. */

import type { DataPlaneSpec } from "../traffic/spec.ts";
import type { DrainReport } from "../traffic/status.ts";
import type { SpecChange } from "./spec-change.ts";

export type ToWorker =
  | { readonly t: "apply"; readonly id: number; readonly spec: DataPlaneSpec }
  /** Answered with `STALE` when the worker is not at `change.base` (it then needs the whole spec). */
  | { readonly t: "update"; readonly id: number; readonly change: SpecChange }
  /** Answered with a StatusDelta: the views that changed after read `since` (all without it). */
  | { readonly t: "status"; readonly id: number; readonly since?: number }
  | { readonly t: "listener"; readonly id: number }
  /** `handedOver`: a new teal accepts on the sockets now (see ProxyServer.close). */
  | { readonly t: "close"; readonly id: number; readonly graceMs: number; readonly handedOver: boolean }
  | AcmeToWorker;

/**
 * ACME (worker-certificates.ts): a certificate to serve on the TLS listener, an HTTP-01 token to
 * answer on the plain one (without keyAuthorization: answer it no more), a TLS-ALPN-01 challenge
 * certificate for a host (without pem: the challenge is over). Answered with nothing,
 * or with `{ error }` when the worker could not take it.
 */
export type AcmeToWorker =
  | {
      readonly t: "certificate";
      readonly id: number;
      readonly host: string;
      readonly cert: string;
      readonly key: string;
    }
  | {
      readonly t: "challenge";
      readonly id: number;
      readonly token: string;
      readonly keyAuthorization?: string;
    }
  | {
      readonly t: "alpn-challenge";
      readonly id: number;
      readonly host: string;
      readonly pem?: { readonly cert: string; readonly key: string };
    };

export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "listening"; readonly address: string; readonly tls?: string | undefined }
  | { readonly t: "reply"; readonly id: number; readonly data?: unknown }
  | { readonly t: "drained"; readonly service: string; readonly report: DrainReport };

/** Environment variable carrying the ProxySettings (JSON) to a worker. */
export const SETTINGS_ENV = "TEAL_PROXY_SETTINGS";

/**
 * Sent with a listening socket's handle before anything else: a worker listens on its parent's
 * sockets (listen-socket.ts), the plain listener's and proxy.tls's.
 */
export interface SocketMessage {
  readonly t: "socket";
  readonly listener: "plain" | "tls";
}

/** A worker's reply to an update it cannot apply: it is not at the change's base generation. */
export const STALE = "stale";
