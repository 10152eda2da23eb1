/** Maps an upstream failure to the answer the client gets and whether a retry is safe. */

import type { ProxyErrorCode } from "./responses.ts";

export interface UpstreamFailure {
  readonly status: 502 | 503 | 504;
  readonly code: ProxyErrorCode;
  readonly message: string;
  /** Nothing reached the upstream, so the request can go to another endpoint. */
  readonly retryable: boolean;
  /** The endpoint itself looks down (passive health). */
  readonly endpointDown: boolean;
  /** A pooled keep-alive connection was closed under us; a fresh one may succeed. */
  readonly staleSocket: boolean;
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

export function classifyUpstreamError(err: Error): UpstreamFailure {
  const code = (err as { code?: string }).code ?? "";
  if (UNREACHABLE.has(code)) {
    return fail(502, "upstream_unreachable", "could not connect to the upstream", true, true);
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    return fail(504, "upstream_connect_timeout", "connecting to the upstream timed out", true, true);
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return fail(504, "upstream_timeout", "the upstream did not answer in time", false, false);
  }
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return fail(504, "upstream_timeout", "the upstream stopped sending its response", false, false);
  }
  if (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE") {
    return {
      ...fail(502, "upstream_closed", "the upstream closed the connection", true, false),
      staleSocket: true,
    };
  }
  return fail(
    502,
    "upstream_bad_response",
    `the upstream sent an invalid response (${code || err.message})`,
    false,
    false,
  );
}

function fail(
  status: 502 | 503 | 504,
  code: ProxyErrorCode,
  message: string,
  retryable: boolean,
  endpointDown: boolean,
): UpstreamFailure {
  return { status, code, message, retryable, endpointDown, staleSocket: false };
}
