/**
 * An HTTP/2 stream as the proxy's request (engine.ts's ProxyRequest), so that it is routed, split,
 * overridden and counted exactly like an HTTP/1.1 request: the pseudo-headers go, :authority
 * becomes Host (RFC 9113 8.3.1: it takes the place of Host), and the Cookie fields HTTP/2 may split
 * are joined into one (RFC 9113 8.2.3: an HTTP/1.1 upstream expects a single Cookie header).
 */

/** The request's header list as an HTTP/1.1 upstream should see it (flat name, value pairs). */
export function h1HeadersOf(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let cookie: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (name === ":authority") authority = value;
      continue;
    }
    if (name === "host") host ??= value;
    else if (name === "cookie") cookie = cookie === undefined ? value : `${cookie}; ${value}`;
    else out.push(name, value);
  }
  const hostValue = authority ?? host;
  if (hostValue !== undefined) out.unshift("host", hostValue);
  if (cookie !== undefined) out.push("cookie", cookie);
  return out;
}

/**
 * Flat response header pairs (and `more` after them, teal's own) as node:http2's header object: a
 * repeated name becomes an array, so that each value goes out as its own field (Set-Cookie must
 * never be joined).
 */
export function h2HeaderObject(
  flat: readonly string[],
  more?: readonly string[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  addPairs(out, flat);
  if (more !== undefined) addPairs(out, more);
  return out;
}

function addPairs(out: Record<string, string | string[]>, flat: readonly string[]): void {
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = [prior, value];
  }
}
