/** Bearer-token check for the admin API, compared in constant time. */

import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { TealError } from "../domain/errors.ts";

export function requireToken(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
    if (given === "" || !timingSafeEqual(digest(given), expected)) {
      throw new TealError(
        "UNAUTHORIZED",
        "missing or wrong admin token: send 'Authorization: Bearer <token>' (the token is in <data-dir>/admin.token)",
      );
    }
    await next();
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
