/**
 * Request bodies: at most MAX_BODY_BYTES each (counted as they stream in, so a larger or endless
 * body is refused with 413 without being held), parsed as JSON and validated with a zod schema
 * whose failures name the field.
 */

import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { describeIssues } from "../config/load.ts";
import { TealError } from "../domain/errors.ts";

/** Every admin request body is small JSON; 1 MiB leaves room for long env lists and commands. */
export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = (): never => {
  throw new TealError(
    "PAYLOAD_TOO_LARGE",
    `the request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB), the most the admin API accepts`,
  );
};

/**
 * Refuses a body past MAX_BODY_BYTES with 413 PAYLOAD_TOO_LARGE: at once when Content-Length says
 * so, else as soon as the streamed (chunked) body passes the limit.
 *
 * A GET and a body with a Content-Length (every CLI command, a switch) are judged by the headers
 * alone. hono's bodyLimit asks `c.req.raw.body` first, which makes @hono/node-server build a whole
 * WHATWG Request (undici headers, an AbortSignal, a web stream over the socket) for every admin
 * request, GETs included: ~0.3 ms of the control process's CPU per switch call, and garbage for
 * its next GC. Without it, `c.req.text()` reads the Node request directly.
 */
export function limitBodySize(): MiddlewareHandler {
  const streamed = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next(); // a fetch Request has no body then
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      // The same judgement hono's bodyLimit makes (a malformed length is left to the parser).
      return Number.parseInt(length, 10) > MAX_BODY_BYTES ? tooLarge() : next();
    }
    return streamed(c, next);
  };
}

export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new TealError("INVALID_REQUEST", "the request body must be JSON");
    }
  }
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  const message = problems.map((p) => `${p.path || "body"}: ${p.message}`).join("; ");
  throw new TealError("INVALID_REQUEST", message, { details: { problems } });
}
