/** A request's headers by lower-case name, the same whichever engine parsed them (engine.ts). */

import type { IncomingHttpHeaders } from "node:http";

/** Repeats joined (", ", or "; " for Cookie), Host's first kept. No prototype: a header called constructor or __proto__ is just a header. */
export function headerMap(raw: readonly string[]): IncomingHttpHeaders {
  const map = Object.create(null) as Record<string, string>;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prior = map[name];
    if (prior === undefined) map[name] = value;
    else if (name === "cookie") map[name] = `${prior}; ${value}`;
    else if (name !== "host") map[name] = `${prior}, ${value}`;
  }
  return map;
}
