/**
 * Config that is valid but likely a mistake, outdated or a risk: logged at start-up and printed by
 * `teal validate`, never refused (a server with no services, say, is a legitimate first step).
 */

import { isIP } from "node:net";
import { AddressList } from "./address-list.ts";
import { splitHostPort } from "./listen-address.ts";
import type { TealConfig } from "./schema.ts";

export interface ConfigWarning {
  /** The config path it is about, e.g. `admin.listen`. */
  readonly path: string;
  readonly message: string;
}

export function configWarnings(config: TealConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const { proxy } = config;
  if (Object.keys(config.services).length === 0) {
    warnings.push({
      path: "services",
      message: "no services are configured: teal will route no traffic; add one under services:",
    });
  }
  if (!isLoopback(splitHostPort(config.admin.listen).host)) {
    warnings.push({
      path: "admin.listen",
      message: `${config.admin.listen} is not a loopback address: the admin token, which can deploy any command, crosses the network in clear text; listen on 127.0.0.1 and reach it through an SSH tunnel or a TLS-terminating proxy`,
    });
  }
  if (proxy.trustForwardedFrom !== undefined) {
    warnings.push({
      path: "proxy.trustForwardedFrom",
      message: "deprecated: rename it to proxy.trustedProxies (same list, same meaning)",
    });
  }
  // On a loopback listener every client is on this machine: a proxy in front, as a rule. Untrusted,
  // that proxy's address is every request's client, and an allowFrom admitting it admits everyone.
  // One warning for all such services: a config of 1,000 services would otherwise log 1,000 lines.
  if (proxy.trustedProxies.length === 0 && isLoopback(splitHostPort(proxy.listen).host)) {
    const admitting: string[] = [];
    const headers = new Set<string>();
    for (const [name, svc] of Object.entries(config.services)) {
      if (svc.router !== "teal" || svc.override === false) continue;
      const allowed = new AddressList(svc.override.allowFrom);
      if (!allowed.has("127.0.0.1") && !allowed.has("::1")) continue;
      admitting.push(name);
      headers.add(svc.override.header);
    }
    if (admitting.length > 0) warnings.push(loopbackOverrideWarning(admitting, [...headers], proxy.listen));
  }
  return warnings;
}

/** How many services the grouped warning names before "and N more". */
const NAMED_SERVICES = 3;

function loopbackOverrideWarning(services: string[], headers: string[], listen: string): ConfigWarning {
  const risk = `and proxy.listen (${listen}) is on loopback: if a proxy on this machine (nginx, a TLS terminator) forwards to teal, every request comes from loopback and anyone who reaches that proxy can pin a color with ${headers.join(" or ")}. Set proxy.trustedProxies to that proxy's address (e.g. [127.0.0.1]) so allowFrom is matched against the real client, or set override: false`;
  if (services.length === 1) {
    return { path: `services.${services[0]}.override.allowFrom`, message: `admits loopback ${risk}` };
  }
  const named = services.slice(0, NAMED_SERVICES).join(", ");
  const more = services.length > NAMED_SERVICES ? ` and ${services.length - NAMED_SERVICES} more` : "";
  return {
    path: "services.*.override.allowFrom",
    message: `${services.length} services (${named}${more}) admit loopback ${risk}`,
  };
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost; a wildcard or any other name is not. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(h) === 6 && new AddressList(["::1/128"]).has(h);
}
