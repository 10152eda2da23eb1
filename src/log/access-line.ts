/**
 * The access log's JSON line, written by a fixed-shape function instead of pino's generic object
 * logging, which walks every entry for the redaction paths and each value's type: on the proxy's
 * hot path that was a third of the cost of the request. The line is the one pino wrote for
 * `log.info(entry, "request")`, key for key and in the same order. No field of an entry is one the
 * logger redacts (token, authorization): it carries no headers and no body.
 *
 * AccessLineEncoder writes the same line as bytes straight into the batch's buffer: building the
 * line as a string (a rope of a dozen pieces, then flattened and encoded) was most of its cost and
 * a kilobyte of garbage per request. accessLine stays for what the encoder declines (a line longer
 * than the batch's buffer) and as the reference the encoder is tested against.
 */

import type { AccessEntry } from "../proxy/exchange.ts";
import type { LineEncoder } from "./line-batch.ts";

/** pino's number for the info level. */
const INFO = 30;

/** `bindings` is what pino puts after the time: `,"name":"teal"`, or "" for a logger without a name. */
export function accessLine(entry: AccessEntry, bindings: string, timeMs: number): string {
  let line =
    `{"level":${INFO},"time":${epochMs(timeMs)}${bindings},"service":${jsonString(entry.service)}` +
    `,"color":"${entry.color}","method":${jsonString(entry.method)},"path":${jsonString(entry.path)}` +
    `,"status":${entry.status},"ms":${thousandths(entry.ms)},"requestId":${jsonString(entry.requestId)}`;
  if (entry.upstream !== undefined) line += `,"upstream":${jsonString(entry.upstream)}`;
  line += `,"bytesIn":${entry.bytesIn},"bytesOut":${entry.bytesOut}`;
  if (entry.error !== undefined) line += `,"error":"${entry.error}"`;
  if (entry.retried !== undefined) line += `,"retried":${entry.retried}`;
  return `${line},"msg":"request"}\n`;
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

const QUOTE = 0x22;
const DECIMAL_BYTES = DECIMALS.map((d) => Buffer.from(d, "latin1"));
/** The line's constant pieces, as bytes. */
const K = {
  start: Buffer.from('{"level":30,"time":'),
  service: Buffer.from(',"service":'),
  color: Buffer.from(',"color":"'),
  method: Buffer.from('","method":'),
  path: Buffer.from(',"path":'),
  status: Buffer.from(',"status":'),
  ms: Buffer.from(',"ms":'),
  requestId: Buffer.from(',"requestId":'),
  upstream: Buffer.from(',"upstream":'),
  bytesIn: Buffer.from(',"bytesIn":'),
  bytesOut: Buffer.from(',"bytesOut":'),
  error: Buffer.from(',"error":"'),
  errorEnd: Buffer.from('"'),
  retried: Buffer.from(',"retried":true'),
  notRetried: Buffer.from(',"retried":false'),
  end: Buffer.from(',"msg":"request"}\n'),
};
const BACKSLASH = 0x5c;

/** The access line as bytes, into a LineBatch's buffer (LineBatch.encode). */
export class AccessLineEncoder implements LineEncoder<AccessEntry> {
  readonly #bindings: Buffer;

  /** `bindings` as for accessLine. */
  constructor(bindings: string) {
    this.#bindings = Buffer.from(bindings, "utf8");
  }

  /**
   * The most encode writes for `entry`: its strings at 6 bytes per UTF-16 unit (an escape such as
   * \u0001 is 6), plus the keys and numbers (each number's text is at most 24 characters).
   */
  maxBytes(entry: AccessEntry): number {
    const strings =
      entry.service.length +
      entry.method.length +
      entry.path.length +
      entry.requestId.length +
      (entry.upstream?.length ?? 0) +
      entry.color.length +
      (entry.error?.length ?? 0);
    return 400 + this.#bindings.length + 6 * strings;
  }

  /** Writes accessLine(entry, bindings, Date.now()) from `at`, and returns where it ends. */
  encode(buf: Buffer, at: number, entry: AccessEntry): number {
    let o = number(buf, ascii(buf, at, K.start), Date.now());
    o = ascii(buf, o, this.#bindings);
    o = json(buf, ascii(buf, o, K.service), entry.service);
    o = raw(buf, ascii(buf, o, K.color), entry.color);
    o = json(buf, ascii(buf, o, K.method), entry.method);
    o = json(buf, ascii(buf, o, K.path), entry.path);
    o = number(buf, ascii(buf, o, K.status), entry.status);
    o = duration(buf, ascii(buf, o, K.ms), entry.ms);
    o = json(buf, ascii(buf, o, K.requestId), entry.requestId);
    if (entry.upstream !== undefined) o = json(buf, ascii(buf, o, K.upstream), entry.upstream);
    o = number(buf, ascii(buf, o, K.bytesIn), entry.bytesIn);
    o = number(buf, ascii(buf, o, K.bytesOut), entry.bytesOut);
    if (entry.error !== undefined) o = ascii(buf, raw(buf, ascii(buf, o, K.error), entry.error), K.errorEnd);
    if (entry.retried !== undefined) o = ascii(buf, o, entry.retried ? K.retried : K.notRetried);
    return ascii(buf, o, K.end);
  }
}

/** Copies a constant of this file (bytes from `bytes`). */
function ascii(buf: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i]!;
  return at + bytes.length;
}

/** `s` as accessLine writes it unquoted: ASCII byte by byte, anything else as UTF-8. */
function raw(buf: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return at + buf.write(s, at, "utf8");
    buf[at + i] = c;
  }
  return at + s.length;
}

/**
 * jsonString(s) as UTF-8: copied while checked, as jsonString checks; a string with anything to
 * escape or not ASCII is written again from the start as JSON.stringify prints it.
 */
function json(buf: Buffer, at: number, s: string): number {
  buf[at] = QUOTE;
  let o = at + 1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === QUOTE || c === BACKSLASH || c >= 0x80)
      return at + buf.write(JSON.stringify(s), at, "utf8");
    buf[o++] = c;
  }
  buf[o] = QUOTE;
  return o + 1;
}

/**
 * `${n}`: a whole number digit by digit, anything else through its text. Up to 2^31 in small-integer
 * arithmetic; above (a time in ms since the epoch), as two halves: % and / on a double are slow.
 */
function number(buf: Buffer, at: number, n: number): number {
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) return smallNumber(buf, at, n);
  if (!(n >= 0 && n < 2 ** 31 * 1e9 && Number.isInteger(n))) return at + buf.write(`${n}`, at, "latin1");
  const high = Math.floor(n / 1e9);
  const low = n - high * 1e9;
  const o = smallNumber(buf, at, high);
  for (let i = o + 8, m = low; i >= o; i--) {
    const q = (m / 10) | 0;
    buf[i] = 0x30 + m - q * 10;
    m = q;
  }
  return o + 9;
}

function smallNumber(buf: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let m = n; m >= 10; m = (m / 10) | 0) digits++;
  for (let i = at + digits - 1, m = n; i >= at; i--) {
    const q = (m / 10) | 0;
    buf[i] = 0x30 + m - q * 10;
    m = q;
  }
  return at + digits;
}

/** thousandths(ms), without its string. */
function duration(buf: Buffer, at: number, ms: number): number {
  const micro = Math.round(ms * 1000);
  if (!(micro >= 0 && micro < 2 ** 31 && micro / 1000 === ms)) return at + buf.write(`${ms}`, at, "latin1");
  const whole = Math.floor(micro / 1000);
  return ascii(buf, smallNumber(buf, at, whole), DECIMAL_BYTES[micro - whole * 1000]!);
}
