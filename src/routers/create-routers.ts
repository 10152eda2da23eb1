/** Builds the router of every service that names one (nginx, haproxy); teal-routed services get none. */

import { isAbsolute, resolve } from "node:path";
import type { TealConfig } from "../config/schema.ts";
import { HaproxyRouter } from "./haproxy/haproxy-router.ts";
import { NginxRouter } from "./nginx/nginx-router.ts";
import type { Router } from "./router.ts";

export function createRouters(
  config: TealConfig,
  configDir: string,
  onWarning: (message: string) => void,
): Map<string, Router> {
  const routers = new Map<string, Router>();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  for (const [service, svc] of Object.entries(config.services)) {
    const r = svc.router;
    if (r === "teal") continue;
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
