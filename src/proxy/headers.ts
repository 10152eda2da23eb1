/** Header rewriting between client and upstream: hop-by-hop removal, X-Forwarded-*, request ids. */

import { randomBytes } from "node:crypto";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  // Handled by the proxy itself (its server answers 100-continue to the client).
  "expect",
]);
/** Headers that say who the client is: teal sets or checks them, a client never sets them. */
const FORWARDED = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-real-ip",
  "true-client-ip",
  "forwarded",
]);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What the upstream gets, from any peer: X-Forwarded-For ends with the peer's address, X-Real-IP
 * is the real client, X-Forwarded-Host is the Host teal routed on. From a trusted proxy, its
 * X-Forwarded-For is kept in front of the peer's address, its X-Forwarded-Proto, True-Client-IP
 * and Forwarded pass as sent; from anyone else they are dropped (X-Forwarded-Proto is then teal's
 * own listener's, http).
 */
export interface ForwardContext {
  /** The direct peer's address. */
  readonly peer: string;
  /** The real client's address (clientOf): the peer itself unless it is a trusted proxy. */
  readonly clientIp: string;
  readonly proto: "http" | "https";
  /** The peer is a trusted proxy: what it says about the client is kept. */
  readonly trusted: boolean;
  readonly requestIdHeader: string;
  /** Keep Connection/Upgrade (for an upgrade request tunnelled as-is). */
  readonly keepUpgrade: boolean;
}

/** Returns the upstream header list (flat name, value pairs) and the request id used. */
export function upstreamHeaders(
  raw: readonly string[],
  ctx: ForwardContext,
): { headers: string[]; requestId: string } {
  const out: string[] = [];
  const dropped = connectionTokens(raw);
  let priorFor: string | undefined;
  let priorProto: string | undefined;
  let host: string | undefined;
  let requestId: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === "host") host = value;
    if (lower === ctx.requestIdHeader) {
      if (requestId === undefined && REQUEST_ID.test(value)) requestId = value;
      continue;
    }
    if (FORWARDED.has(lower)) {
      if (ctx.trusted) {
        if (lower === "x-forwarded-for") priorFor = priorFor === undefined ? value : `${priorFor}, ${value}`;
        else if (lower === "x-forwarded-proto") priorProto ??= value;
        else if (lower === "true-client-ip" || lower === "forwarded") out.push(name, value);
      }
      continue;
    }
    if (ctx.keepUpgrade && (lower === "connection" || lower === "upgrade")) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || dropped?.has(lower)) continue;
    out.push(name, value);
  }
  requestId ??= newRequestId();
  out.push("x-forwarded-for", priorFor === undefined ? ctx.peer : `${priorFor}, ${ctx.peer}`);
  out.push("x-real-ip", ctx.clientIp);
  out.push("x-forwarded-proto", priorProto ?? ctx.proto);
  if (host !== undefined) out.push("x-forwarded-host", host);
  out.push(ctx.requestIdHeader, requestId);
  return { headers: out, requestId };
}

/** Upstream response headers for the client, hop-by-hop removed. */
export function downstreamHeaders(
  raw: readonly string[],
  requestIdHeader: string,
  requestId: string,
): string[] {
  const out: string[] = [];
  let dropped: Set<string> | undefined;
  let hasId = false;
  // One pass; names listed in Connection (rare: usually just "keep-alive") are removed after.
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === "connection") dropped = tokens(raw[i + 1]!, dropped);
      continue;
    }
    if (lower === requestIdHeader) hasId = true;
    out.push(name, raw[i + 1]!);
  }
  if (!hasId) out.push(requestIdHeader, requestId);
  return dropped === undefined ? out : withoutNames(out, dropped);
}

/**
 * Fields a trailer section may not carry (RFC 9110 section 6.5.1): framing, routing,
 * authentication, cookies, response controls and content format are read before the body, so in
 * a trailer they are either ignored or, worse, believed by a client that merges trailers into the
 * header fields. Hop-by-hop fields never pass a proxy, and HTTP/2 refuses them outright.
 */
const FORBIDDEN_TRAILERS = new Set([
  ...HOP_BY_HOP,
  "http2-settings",
  "content-length",
  "content-type",
  "content-encoding",
  "content-range",
  "host",
  "authorization",
  "www-authenticate",
  "set-cookie",
  "cookie",
  "cache-control",
  "pragma",
  "expires",
  "age",
  "date",
  "vary",
  "location",
  "retry-after",
  "max-forwards",
  "range",
  "strict-transport-security",
]);

/**
 * An upstream's trailer fields for the client (flat name, value pairs), the forbidden ones
 * dropped and names in lower case; a repeated name is one field with its values joined by ", "
 * (RFC 9110 section 5.3; Set-Cookie, the one field that cannot be joined, is forbidden here),
 * which HTTP/2 needs for the fields it allows once. Undefined when none is left.
 */
export function downstreamTrailers(raw: readonly string[]): string[] | undefined {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (FORBIDDEN_TRAILERS.has(name) || name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[i + 1]!;
    const prior = at.get(name);
    if (prior === undefined) {
      at.set(name, out.length + 1);
      out.push(name, value);
    } else out[prior] = `${out[prior]}, ${value}`;
  }
  return out.length === 0 ? undefined : out;
}

/**
 * An HTTP/1.1 client's TE says it takes trailers (RFC 9110 section 10.1.4). Without it teal drops
 * them, as RFC 9110 section 6.5.1 lets a proxy do: a client that did not ask may not read them,
 * and one that merges them into the header fields could be misled.
 */
export function acceptsTrailers(te: string | string[] | undefined): boolean {
  if (te === undefined) return false;
  return /(?:^|,)\s*trailers\s*(?:[,;]|$)/i.test(typeof te === "string" ? te : te.join(","));
}

function withoutNames(headers: string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!names.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let set: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") set = tokens(raw[i + 1]!, set);
  }
  return set;
}

/** Extra header names listed in a Connection value; undefined (no allocation) when there are none. */
function tokens(value: string, into: Set<string> | undefined): Set<string> | undefined {
  const plain = value.length <= 10 ? value.toLowerCase() : "";
  if (plain === "keep-alive" || plain === "close") return into;
  let set = into;
  for (const t of value.split(",")) {
    const token = t.trim().toLowerCase();
    if (token === "" || token === "close" || token === "keep-alive") continue;
    set ??= new Set<string>();
    set.add(token);
  }
  return set;
}

const ID_PREFIX = randomBytes(4).toString("hex");
let idCounter = 0;

export function newRequestId(): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${ID_PREFIX}-${idCounter.toString(36)}`;
}
