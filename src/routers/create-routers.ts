/**
 * Builds every service's router: a TealRouter on teal's own proxy (shared, so one push is one
 * swap) for `router: teal`, or the nginx or HAProxy the service names.
 */

import { isAbsolute, resolve } from "node:path";
import type { TealConfig } from "../config/schema.ts";
import { HaproxyRouter } from "./haproxy/haproxy-router.ts";
import { NginxRouter } from "./nginx/nginx-router.ts";
import type { Router } from "./router.ts";
import type { OwnProxy } from "./teal/own-proxy.ts";
import { TealRouter } from "./teal/teal-router.ts";

export function createRouters(
  config: TealConfig,
  configDir: string,
  onWarning: (message: string) => void,
  own: OwnProxy,
): Map<string, Router> {
  const routers = new Map<string, Router>();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  for (const [service, svc] of Object.entries(config.services)) {
    const r = svc.router;
    if (r === "teal") {
      routers.set(service, new TealRouter(service, own));
      continue;
    }
    switch (r.type) {
      case "nginx":
        routers.set(
          service,
          new NginxRouter({
            service,
            config: {
              ...r,
              configFile: abs(r.configFile),
              mainConfig: abs(r.mainConfig),
              prefix: r.prefix && abs(r.prefix),
              accessLog: r.accessLog && abs(r.accessLog),
            },
          }),
        );
        break;
      case "haproxy":
        routers.set(
          service,
          new HaproxyRouter({
            service,
            config: {
              ...r,
              socket: r.socket.includes("/") ? abs(r.socket) : r.socket,
              stateFile: r.stateFile && abs(r.stateFile),
            },
            onWarning,
          }),
        );
        break;
    }
  }
  return routers;
}
