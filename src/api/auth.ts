/**
 * Bearer-token checks for the admin API, compared in constant time. Two tokens: the admin token
 * may do anything; the read-only view token (the dashboard's) may only read, and never the
 * instances' output, which can hold secrets.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { TealError } from "../domain/errors.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** True when the request came with the read-only view token. */
    viewer: boolean;
  }
}

export interface Tokens {
  readonly admin: string;
  /** Accepted for reads only; undefined: no view token. */
  readonly view?: string | undefined;
}

/** What the view token may read: GET/HEAD, except instance logs. */
export function viewTokenMayRead(method: string, path: string): boolean {
  return (method === "GET" || method === "HEAD") && !/^\/v1\/services\/[^/]+\/logs$/.test(path);
}

export function requireToken(tokens: Tokens): MiddlewareHandler {
  const admin = digest(tokens.admin);
  const view = tokens.view === undefined ? undefined : digest(tokens.view);
  return async (c, next) => {
    const given = bearerToken(c.req.header("authorization"));
    const hash = given === "" ? undefined : digest(given);
    if (hash && timingSafeEqual(hash, admin)) {
      c.set("viewer", false);
      return next();
    }
    if (hash && view && timingSafeEqual(hash, view)) {
      c.set("viewer", true);
      if (viewTokenMayRead(c.req.method, c.req.path)) return next();
      throw new TealError(
        "FORBIDDEN",
        "the view token can only read status, deployments and metrics: this needs the admin token (in <data-dir>/admin.token)",
      );
    }
    throw new TealError(
      "UNAUTHORIZED",
      "missing or wrong admin token: send 'Authorization: Bearer <token>' (the token is in <data-dir>/admin.token)",
    );
  };
}

/** The credentials of a Bearer header; the scheme name is case-insensitive (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match ? match[1]! : "";
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
