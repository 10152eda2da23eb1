/** teal's one error base class: every failure a user can see carries a stable `code`. */

export type ErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_NOT_FOUND"
  | "USAGE"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "SERVICE_NOT_FOUND"
  | "INVALID_REQUEST"
  | "PAYLOAD_TOO_LARGE"
  | "CONFLICT"
  | "DEPLOYMENT_RUNNING"
  | "NOT_HEALTHY"
  | "NOT_LEADER"
  | "LAUNCH_FAILED"
  | "UNSUPPORTED"
  | "ROUTER_FAILED"
  | "TOO_MANY_STREAMS"
  | "SERVER_UNREACHABLE"
  | "LISTEN_FAILED"
  | "STORE_CONFLICT"
  | "STORE_COMPACTED"
  | "STORE_CLOSED"
  | "STORE_UNAVAILABLE"
  | "LEASE_NOT_FOUND"
  | "RECORD_CORRUPT"
  | "DATABASE_FAILED"
  | "INTERNAL";

export class TealError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail, e.g. the config path that failed. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TealError";
    this.code = code;
    this.details = options?.details;
  }
}

export function isTealError(err: unknown, code?: ErrorCode): err is TealError {
  return err instanceof TealError && (code === undefined || err.code === code);
}
