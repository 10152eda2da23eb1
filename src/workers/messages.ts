/** IPC between the control process and its proxy worker processes. */

import type { DrainReport } from "../proxy/drain.ts";
import type { DataPlaneSpec } from "../proxy/spec.ts";

export type ToWorker =
  | { readonly t: "apply"; readonly id: number; readonly spec: DataPlaneSpec }
  | { readonly t: "status"; readonly id: number }
  | { readonly t: "listener"; readonly id: number }
  | { readonly t: "close"; readonly id: number; readonly graceMs: number };

export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "listening"; readonly address: string }
  | { readonly t: "reply"; readonly id: number; readonly data?: unknown }
  | { readonly t: "drained"; readonly service: string; readonly report: DrainReport };

/** Environment variable carrying the ProxySettings (JSON) to a worker. */
export const SETTINGS_ENV = "TEAL_PROXY_SETTINGS";
