/** The one place where error codes become HTTP statuses, and every API error becomes JSON. */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, isTealError } from "../domain/errors.ts";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  CONFIG_INVALID: 400,
  CONFIG_NOT_FOUND: 400,
  USAGE: 400,
  INVALID_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SERVICE_NOT_FOUND: 404,
  CONFLICT: 409,
  DEPLOYMENT_RUNNING: 409,
  NOT_HEALTHY: 409,
  NOT_LEADER: 409,
  LAUNCH_FAILED: 422,
  UNSUPPORTED: 422,
  STORE_CONFLICT: 409,
  SERVER_UNREACHABLE: 502,
  ROUTER_FAILED: 502,
  TOO_MANY_STREAMS: 429,
  LISTEN_FAILED: 500,
  STORE_COMPACTED: 500,
  STORE_CLOSED: 503,
  STORE_UNAVAILABLE: 503,
  LEASE_NOT_FOUND: 500,
  RECORD_CORRUPT: 500,
  DATABASE_FAILED: 502,
  INTERNAL: 500,
};

export interface ApiErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details?: unknown };
}

export function errorResponse(c: Context, err: unknown, onInternal?: (err: unknown) => void): Response {
  if (isTealError(err)) {
    const body: ApiErrorBody = { error: { code: err.code, message: err.message, details: err.details } };
    return c.json(body, STATUS[err.code]);
  }
  onInternal?.(err);
  const body: ApiErrorBody = { error: { code: "INTERNAL", message: "internal error; see the server log" } };
  return c.json(body, 500);
}
