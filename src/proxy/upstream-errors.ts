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
  /** Seconds for the client's Retry-After (an overload that passes). */
  readonly retryAfterS?: number;
}

/** What a client is told to wait before it tries again, when every upstream connection is busy. */
const QUEUE_RETRY_AFTER_S = 5;

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
  // Every connection to the endpoint is busy: nothing reached it, so another endpoint may serve a
  // request the full queue refused; one that waited out the queue timeout has waited enough.
  if (code === "TEAL_QUEUE_FULL") {
    const failure = fail(503, "upstream_queue_full", "too many requests wait for the upstream", true, false);
    return { ...failure, retryAfterS: QUEUE_RETRY_AFTER_S };
  }
  if (code === "TEAL_QUEUE_TIMEOUT") {
    const failure = fail(
      503,
      "upstream_queue_timeout",
      "no upstream connection became free in time",
      false,
      false,
    );
    return { ...failure, retryAfterS: QUEUE_RETRY_AFTER_S };
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
