/**
 * Where a request goes: by Host (exact first, then the longest `*.suffix` wildcard, then routes
 * without a host) and then by the longest path prefix that matches at a segment boundary.
 * Built once per spec and swapped whole; each route's answer is built with it, so a lookup
 * allocates nothing.
 */

import type { RouteConfig } from "../config/schema.ts";
import type { ServiceTarget } from "./service-target.ts";

export interface RouteMatch {
  readonly service: ServiceTarget;
  /** Prefix to strip from the path before forwarding, or "" to forward it unchanged. */
  readonly strip: string;
  /** The route asks plain HTTP requests to move to HTTPS (its `redirectHttps`). */
  readonly redirectHttps: boolean;
}

interface Entry {
  readonly prefix: string;
  /** What a request this route takes gets: the same object every time. */
  readonly match: RouteMatch;
}

export class RouteTable {
  readonly #exact = new Map<string, Entry[]>();
  readonly #wildcards: { suffix: string; entries: Entry[] }[] = [];
  readonly #anyHost: Entry[] = [];

  constructor(services: readonly { target: ServiceTarget; routes: readonly RouteConfig[] }[]) {
    for (const { target, routes } of services) {
      for (const route of routes) this.#add(route, target);
    }
    const byLongestPrefix = (a: Entry, b: Entry) => b.prefix.length - a.prefix.length;
    for (const entries of this.#exact.values()) entries.sort(byLongestPrefix);
    for (const w of this.#wildcards) w.entries.sort(byLongestPrefix);
    this.#wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    this.#anyHost.sort(byLongestPrefix);
  }

  /** `host` is the Host header as sent (any case, maybe with a port); `path` starts with "/". */
  match(host: string | undefined, path: string): RouteMatch | undefined {
    const name = host === undefined ? "" : normalizeHost(host);
    const exact = this.#exact.get(name);
    if (exact) {
      const m = matchPath(exact, path);
      if (m) return m;
    }
    for (const w of this.#wildcards) {
      if (name.length > w.suffix.length && name.endsWith(w.suffix)) {
        const m = matchPath(w.entries, path);
        if (m) return m;
      }
    }
    return matchPath(this.#anyHost, path);
  }

  #add(route: RouteConfig, service: ServiceTarget): void {
    const prefix = route.path.length > 1 && route.path.endsWith("/") ? route.path.slice(0, -1) : route.path;
    const strip = route.stripPrefix && prefix !== "/" ? prefix : "";
    const match: RouteMatch = Object.freeze({ service, strip, redirectHttps: route.redirectHttps === true });
    const entry: Entry = { prefix, match };
    if (route.host === undefined) this.#anyHost.push(entry);
    else if (route.host.startsWith("*.")) {
      const suffix = route.host.slice(1);
      let w = this.#wildcards.find((x) => x.suffix === suffix);
      if (!w) {
        w = { suffix, entries: [] };
        this.#wildcards.push(w);
      }
      w.entries.push(entry);
    } else {
      const list = this.#exact.get(route.host) ?? [];
      list.push(entry);
      this.#exact.set(route.host, list);
    }
  }
}

function matchPath(entries: readonly Entry[], path: string): RouteMatch | undefined {
  for (const e of entries) {
    if (e.prefix === "/") return e.match;
    if (path.startsWith(e.prefix)) {
      const next = path.charCodeAt(e.prefix.length);
      // A prefix matches only at a segment boundary: /api matches /api, /api/x, /api?q, not /apix.
      if (Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */) return e.match;
    }
  }
  return undefined;
}

export function normalizeHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) end = host.indexOf("]") + 1 || end;
  else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  let name = host.slice(0, end).toLowerCase();
  if (name.endsWith(".")) name = name.slice(0, -1);
  return name;
}
