/**
 * Is a Host header value one that teal routes on: `host[:port]` (RFC 9112 section 3.2, RFC 3986
 * section 3.2.2), stricter than the RFC's reg-name (no sub-delims such as `,` `;` `(`, no
 * percent-encoding), as no real host name needs them. Hand-written: it runs on every request.
 */

import { isIP } from "node:net";

/** 1 for the characters of a host name: letters, digits, `-`, `.`, `_`, `~` (RFC 3986 unreserved). */
const NAME_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
  NAME_CHAR[c.charCodeAt(0)] = 1;

const COLON = 58;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const OPEN_BRACKET = 91;

/**
 * A name of letters, digits and `- . _ ~` (an IPv4 address is one), or a bracketed IPv6 address,
 * optionally followed by `:port` with a port of at most 65535. The empty value is valid (RFC 9112:
 * a request whose target has no authority sends an empty Host).
 */
export function isValidHost(value: string): boolean {
  const length = value.length;
  let at = 0;
  if (length > 0 && value.charCodeAt(0) === OPEN_BRACKET) {
    const close = value.indexOf("]");
    if (close < 0 || isIP(value.slice(1, close)) !== 6) return false;
    at = close + 1;
  } else {
    while (at < length) {
      const c = value.charCodeAt(at);
      if (c >= 128 || NAME_CHAR[c] !== 1) break;
      at++;
    }
  }
  if (at === length) return true;
  if (at === 0 || value.charCodeAt(at) !== COLON) return false;
  return isPort(value, at + 1);
}

/** Digits from `from` to the end, at most 65535 (an empty port is allowed by RFC 3986). */
function isPort(value: string, from: number): boolean {
  if (value.length - from > 5) return false;
  let port = 0;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return false;
    port = port * 10 + (c - DIGIT_0);
  }
  return port <= 65535;
}
