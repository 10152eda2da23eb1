/**
 * The access log's JSON line, written by a fixed-shape function instead of pino's generic object
 * logging, which walks every entry for the redaction paths and each value's type: on the proxy's
 * hot path that was a third of the cost of the request. The line is the one pino wrote for
 * `log.info(entry, "request")`, key for key and in the same order. No field of an entry is one the
 * logger redacts (token, authorization): it carries no headers and no body. Nearly every entry
 * takes the plain form (plainAccessLine): no string to escape, all ASCII.
 */

import type { AccessEntry } from "../proxy/exchange.ts";

/** pino's number for the info level. */
const INFO = 30;

/** `bindings` is what pino puts after the time: `,"name":"teal"`, or "" for a logger without a name. */
export function accessLine(entry: AccessEntry, bindings: string, timeMs: number): string {
  return plainAccessLine(entry, bindings, timeMs) ?? escapedAccessLine(entry, bindings, timeMs);
}

/**
 * The line when none of the entry's strings needs escaping and all are ASCII (nearly every
 * request), else undefined. Their quotes are in the template: no string per field, a fifth fewer
 * instructions per line than escapedAccessLine. With ASCII `bindings`, the line is ASCII (color and
 * error are codes of teal's own), so it may be written as Latin-1, byte for byte its UTF-8. The
 * text around the path, status and upstream is reused from the last lines (head, statusPiece,
 * upstreamPiece): a line is a dozen joins, not thirty.
 */
export function plainAccessLine(entry: AccessEntry, bindings: string, timeMs: number): string | undefined {
  const { service, upstream } = entry;
  if (
    !(
      (service === plainService || plainRemembered(service, "service")) &&
      plain(entry.method) &&
      plain(entry.path) &&
      plain(entry.requestId) &&
      (upstream === undefined || upstream === plainUpstream || plainRemembered(upstream, "upstream"))
    )
  )
    return undefined;
  // Few pieces: the joins and the pieces' count are what a line costs (each piece is a node of the
  // string V8 copies when the batch is written), not the bytes.
  let line =
    head(timeMs, bindings, service, entry.color, entry.method) +
    entry.path +
    statusPiece(entry.status) +
    thousandths(entry.ms) +
    ',"requestId":"' +
    entry.requestId +
    upstreamPiece(upstream) +
    entry.bytesIn +
    ',"bytesOut":' +
    entry.bytesOut;
  if (entry.error !== undefined) line += `,"error":"${entry.error}"`;
  if (entry.retried !== undefined) line += `,"retried":${entry.retried}`;
  if (entry.protocol !== undefined) line += `,"protocol":"${entry.protocol}"`;
  return `${line},"msg":"request"}\n`;
}

/**
 * `{"level":30,"time":…,"name":…,"service":…,"color":…,"method":…,"path":"` for the last values
 * asked: under load, the lines of a millisecond nearly all share it. Flattened once (Number() makes
 * V8 flatten a joined string in place), so that each line carries it as one piece.
 */
let headMs = -1;
let headBindings = "";
let headService = "";
let headColor = "";
let headMethod = "";
let headText = "";
function head(timeMs: number, bindings: string, service: string, color: string, method: string): string {
  if (
    timeMs !== headMs ||
    bindings !== headBindings ||
    service !== headService ||
    color !== headColor ||
    method !== headMethod
  ) {
    headMs = timeMs;
    headBindings = bindings;
    headService = service;
    headColor = color;
    headMethod = method;
    headText = `{"level":${INFO},"time":${epochMs(timeMs)}${bindings},"service":"${service}","color":"${color}","method":"${method}","path":"`;
    Number(headText);
  }
  return headText;
}

/** `","status":N,"ms":` for each status code, made once. */
const statusPieces: string[] = [];
function statusPiece(status: number): string {
  if (!(Number.isInteger(status) && status >= 0 && status < 1000)) return `","status":${status},"ms":`;
  let piece = statusPieces[status];
  if (piece === undefined) {
    piece = `","status":${status},"ms":`;
    Number(piece);
    statusPieces[status] = piece;
  }
  return piece;
}

/** `","upstream":"…","bytesIn":` (or `","bytesIn":` without one) for the last upstream asked. */
let upstreamOf: string | undefined;
let upstreamText = '","bytesIn":';
function upstreamPiece(upstream: string | undefined): string {
  if (upstream !== upstreamOf) {
    upstreamOf = upstream;
    upstreamText = upstream === undefined ? '","bytesIn":' : `","upstream":"${upstream}","bytesIn":`;
    Number(upstreamText);
  }
  return upstreamText;
}

/** Any entry: each string through jsonString. */
export function escapedAccessLine(entry: AccessEntry, bindings: string, timeMs: number): string {
  let line =
    `{"level":${INFO},"time":${epochMs(timeMs)}${bindings},"service":${jsonString(entry.service)}` +
    `,"color":"${entry.color}","method":${jsonString(entry.method)},"path":${jsonString(entry.path)}` +
    `,"status":${entry.status},"ms":${thousandths(entry.ms)},"requestId":${jsonString(entry.requestId)}`;
  if (entry.upstream !== undefined) line += `,"upstream":${jsonString(entry.upstream)}`;
  line += `,"bytesIn":${entry.bytesIn},"bytesOut":${entry.bytesOut}`;
  if (entry.error !== undefined) line += `,"error":"${entry.error}"`;
  if (entry.retried !== undefined) line += `,"retried":${entry.retried}`;
  if (entry.protocol !== undefined) line += `,"protocol":"${entry.protocol}"`;
  return `${line},"msg":"request"}\n`;
}

/**
 * The last service name and upstream found plain: nearly every request of a process carries one of
 * a few, the same string objects (config values), so the scan is skipped by one comparison.
 */
let plainService = "";
let plainUpstream = "";
function plainRemembered(s: string, field: "service" | "upstream"): boolean {
  if (!plain(s)) return false;
  if (field === "service") plainService = s;
  else plainUpstream = s;
  return true;
}

/** True when JSON writes `s` as is between quotes and it is ASCII. */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) return false;
  }
  return true;
}

/**
 * JSON.stringify(s), with the common case (nothing to escape) checked by a loop, as pino does:
 * cheaper than the call for the short strings of a request. Surrogates go to JSON.stringify, which
 * writes a lone one as an escape.
 */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0xd800) return JSON.stringify(s);
  }
  return `"${s}"`;
}

// A time past 2^31 is a heap number, slow to print; many lines share the same millisecond.
let lastMs = -1;
let lastMsText = "";
function epochMs(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastMsText = `${ms}`;
  }
  return lastMsText;
}

/** "001" … "999" without trailing zeros: the decimals JavaScript prints for n/1000. */
const DECIMALS = Array.from({ length: 1000 }, (_, n) =>
  `.${String(n).padStart(3, "0")}`.replace(/\.?0+$/, ""),
);

/**
 * `${ms}` for a duration rounded to thousandths (as Exchange rounds it), through integers, which
 * print faster than a fraction. Anything else (negative, huge, not a number) is printed as is.
 */
export function thousandths(ms: number): string {
  const micro = Math.round(ms * 1000);
  if (!(micro >= 0 && micro < 2 ** 31 && micro / 1000 === ms)) return `${ms}`;
  const whole = Math.floor(micro / 1000);
  return `${whole}${DECIMALS[micro - whole * 1000]}`;
}
