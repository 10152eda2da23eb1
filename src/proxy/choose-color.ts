/**
 * Picks the color for one request, in this order: override header (only from allowed
 * addresses), allowlisted user keys (always the new color), sticky user key (hashed against the
 * split), then a weighted random draw.
 */

import type { IncomingHttpHeaders } from "node:http";
import { type Color, otherColor } from "../domain/color.ts";
import { colorForKey, colorForRandom } from "../domain/split.ts";
import type { ServiceTarget } from "./service-target.ts";

export type ChoiceReason = "override" | "allowlist" | "sticky" | "weight";

export interface ColorChoice {
  readonly color: Color;
  readonly reason: ChoiceReason;
  /** A sticky key teal generated for this client, to be sent back as a cookie. */
  readonly newStickyKey: string | undefined;
}

// Shared answers for the common cases, so choosing a color allocates nothing.
const REASONS: readonly ChoiceReason[] = ["override", "allowlist", "sticky", "weight"];
const CHOICES = Object.fromEntries(
  REASONS.map((reason) => [
    reason,
    {
      blue: Object.freeze({ color: "blue", reason, newStickyKey: undefined }),
      green: Object.freeze({ color: "green", reason, newStickyKey: undefined }),
    },
  ]),
) as Record<ChoiceReason, Record<Color, ColorChoice>>;

/**
 * `client` is the real client's address (behind trusted proxies, from X-Forwarded-For), matched
 * against override.allowFrom; undefined when teal does not know it (no override then).
 */
export function chooseColor(
  service: ServiceTarget,
  headers: IncomingHttpHeaders,
  client: string | undefined,
): ColorChoice {
  const { routing, policy } = service;
  if (policy.overrideHeader !== undefined) {
    const value = headers[policy.overrideHeader];
    if (typeof value === "string" && policy.overrideFrom.has(client)) {
      const color = overrideColor(value, routing.live);
      if (color) return CHOICES.override[color];
    }
  }
  let key: string | undefined;
  if (policy.stickyHeader !== undefined) {
    const value = headers[policy.stickyHeader];
    if (typeof value === "string" && value !== "") key = value;
  }
  if (key === undefined && policy.stickyCookie !== undefined)
    key = readCookie(headers.cookie, policy.stickyCookie);
  if (key !== undefined) {
    if (policy.allowlist.has(key)) return CHOICES.allowlist[otherColor(routing.live)];
    return CHOICES.sticky[colorForKey(key, routing.greenPercent)];
  }
  if (policy.setStickyCookie && policy.stickyCookie !== undefined) {
    const fresh = randomKey();
    return { color: colorForKey(fresh, routing.greenPercent), reason: "sticky", newStickyKey: fresh };
  }
  return CHOICES.weight[colorForRandom(Math.random(), routing.greenPercent)];
}

/** `blue`/`green` name a color; `true`/`canary`/`new` mean the non-live one; `false`/`stable`/`live` the live one. */
export function overrideColor(value: string, live: Color): Color | undefined {
  switch (value.trim().toLowerCase()) {
    case "blue":
      return "blue";
    case "green":
      return "green";
    case "true":
    case "1":
    case "canary":
    case "new":
      return otherColor(live);
    case "false":
    case "0":
    case "stable":
    case "live":
      return live;
    default:
      return undefined;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let at = 0;
  while (at < header.length) {
    const eq = header.indexOf("=", at);
    if (eq < 0) return undefined;
    let end = header.indexOf(";", eq);
    if (end < 0) end = header.length;
    if (header.slice(at, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      return value === "" ? undefined : value;
    }
    at = end + 1;
  }
  return undefined;
}

function randomKey(): string {
  return Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12);
}
