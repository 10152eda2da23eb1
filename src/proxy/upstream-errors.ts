/**
 * The upstream client's error codes, teal's own whichever engine runs (see engine.ts), and how
 * each maps to the answer the client gets and whether a retry is safe. Besides these, a client
 * passes on the socket's own errno codes (ECONNREFUSED, ECONNRESET...) and llhttp's HPE_* codes.
 */

import type { ProxyErrorCode } from "./responses.ts";

export type UpstreamErrorCode =
  /** No connection within proxy.timeouts.connectMs. */
  | "UPSTREAM_CONNECT_TIMEOUT"
  /** Connected, but no response head within proxy.timeouts.headersMs. */
  | "UPSTREAM_HEADERS_TIMEOUT"
  /** The response body went proxy.timeouts.idleMs without a byte. */
  | "UPSTREAM_BODY_TIMEOUT"
  /** The upstream closed the connection before its answer was complete. */
  | "UPSTREAM_CLOSED"
  /** What the upstream sent is not an HTTP answer teal can pass on. */
  | "UPSTREAM_BAD_RESPONSE"
  /** The exchange gave up on the request (its client went, a drain deadline passed). */
  | "UPSTREAM_ABORTED"
  /** The endpoint was closed (no service lists it any more, or the proxy stops). */
  | "UPSTREAM_DESTROYED"
  /** Every connection to the endpoint is busy and its queue is full. */
  | "UPSTREAM_QUEUE_FULL"
  /** No connection to the endpoint became free within proxy.timeouts.queueMs. */
  | "UPSTREAM_QUEUE_TIMEOUT";

export type UpstreamError = Error & { readonly code: UpstreamErrorCode };

export function upstreamError(code: UpstreamErrorCode, message: string): UpstreamError {
  return Object.assign(new Error(message), { code });
}

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
  if (code === "UPSTREAM_CONNECT_TIMEOUT") {
    return fail(504, "upstream_connect_timeout", "connecting to the upstream timed out", true, true);
  }
  if (code === "UPSTREAM_HEADERS_TIMEOUT") {
    return fail(504, "upstream_timeout", "the upstream did not answer in time", false, false);
  }
  if (code === "UPSTREAM_BODY_TIMEOUT") {
    return fail(504, "upstream_timeout", "the upstream stopped sending its response", false, false);
  }
  // Every connection to the endpoint is busy: nothing reached it, so another endpoint may serve a
  // request the full queue refused; one that waited out the queue timeout has waited enough.
  if (code === "UPSTREAM_QUEUE_FULL") {
    const failure = fail(503, "upstream_queue_full", "too many requests wait for the upstream", true, false);
    return { ...failure, retryAfterS: QUEUE_RETRY_AFTER_S };
  }
  if (code === "UPSTREAM_QUEUE_TIMEOUT") {
    const failure = fail(
      503,
      "upstream_queue_timeout",
      "no upstream connection became free in time",
      false,
      false,
    );
    return { ...failure, retryAfterS: QUEUE_RETRY_AFTER_S };
  }
  if (code === "UPSTREAM_CLOSED" || code === "ECONNRESET" || code === "EPIPE") {
    return {
      ...fail(502, "upstream_closed", "the upstream closed the connection", true, false),
      staleSocket: true,
    };
  }
  // teal's own code says what it found in the message; llhttp's HPE_* code says it by itself.
  const detail = code === "UPSTREAM_BAD_RESPONSE" || code === "" ? err.message : code;
  return fail(
    502,
    "upstream_bad_response",
    `the upstream sent an invalid response (${detail})`,
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
