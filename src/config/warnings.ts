/**
 * Warnings about a config that is valid but outdated or unsafe, found from the config alone and
 * logged once at start-up (and printed by `teal validate`).
 */

import { isIP } from "node:net";
import { AddressList } from "../proxy/address-list.ts";
import { splitHostPort } from "./listen-address.ts";
import type { TealConfig } from "./schema.ts";

export function configWarnings(config: TealConfig): string[] {
  const warnings: string[] = [];
  const { proxy } = config;
  if (proxy.trustForwardedFrom !== undefined) {
    warnings.push(
      "proxy.trustForwardedFrom is deprecated: rename it to proxy.trustedProxies (same list, same meaning)",
    );
  }
  // On a loopback listener every client is on this machine: a proxy in front, as a rule. Untrusted,
  // that proxy's address is every request's client, and an allowFrom admitting it admits everyone.
  if (proxy.trustedProxies.length === 0 && isLoopback(splitHostPort(proxy.listen).host)) {
    for (const [name, svc] of Object.entries(config.services)) {
      if (svc.router !== "teal" || svc.override === false) continue;
      const allowed = new AddressList(svc.override.allowFrom);
      if (!allowed.has("127.0.0.1") && !allowed.has("::1")) continue;
      warnings.push(
        `services.${name}.override.allowFrom admits loopback and proxy.listen (${proxy.listen}) is on loopback: if a proxy on this machine (nginx, a TLS terminator) forwards to teal, every request comes from loopback and anyone who reaches that proxy can pin a color with ${svc.override.header}. Set proxy.trustedProxies to that proxy's address (e.g. [127.0.0.1]) so allowFrom is matched against the real client, or set override: false`,
      );
    }
  }
  return warnings;
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith("127.");
  return family === 6 && new AddressList(["::1/128"]).has(host);
}
