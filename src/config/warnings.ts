/**
 * Config that is valid but likely a mistake or a risk: logged at start-up and printed by
 * `teal validate`, never refused (a server with no services, say, is a legitimate first step).
 */

import { isIP } from "node:net";
import { splitHostPort } from "./listen-address.ts";
import type { TealConfig } from "./schema.ts";

export interface ConfigWarning {
  /** The config path it is about, e.g. `admin.listen`. */
  readonly path: string;
  readonly message: string;
}

export function configWarnings(config: TealConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
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
  return warnings;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost; a wildcard or any other name is not. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}
