/** The Router contract (router-contract.ts) against teal's own proxy, nginx and HAProxy. */

import { haproxyRouterSchema, nginxRouterSchema } from "../../src/config/router-schema.ts";
import { HaproxyRouter } from "../../src/routers/haproxy/haproxy-router.ts";
import { NginxRouter } from "../../src/routers/nginx/nginx-router.ts";
import { OwnProxy } from "../../src/routers/teal/own-proxy.ts";
import { TealRouter } from "../../src/routers/teal/teal-router.ts";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { testSettings } from "../support/data-plane.ts";
import { startHaproxy, startNginx } from "../support/routers.ts";
import { routerContract } from "./router-contract.ts";

routerContract("teal", async () => {
  const proxy = new LocalDataPlane({ ...testSettings, accessLog: false });
  const router = new TealRouter("web", new OwnProxy(proxy));
  const address = await proxy.listen();
  return {
    router,
    url: `http://${address}`,
    close: async () => {
      await router.close();
      await proxy.close();
    },
  };
});

routerContract("nginx", async (dir) => {
  const nginx = await startNginx(dir);
  const config = nginxRouterSchema.parse({
    type: "nginx",
    configFile: nginx.configFile,
    mainConfig: nginx.mainConfig,
    listen: `127.0.0.1:${nginx.port}`,
  });
  const router = new NginxRouter({ service: "web", config });
  return {
    router,
    url: `http://127.0.0.1:${nginx.port}`,
    close: async () => {
      await router.close();
      await nginx.stop();
    },
  };
});

routerContract("haproxy", async (dir) => {
  const haproxy = await startHaproxy(dir);
  const config = haproxyRouterSchema.parse({
    type: "haproxy",
    socket: haproxy.socket,
    backend: "web",
    stateFile: haproxy.stateFile,
    overrideBackends: { blue: "web_blue", green: "web_green" },
    reconcileIntervalMs: 100,
  });
  const router = new HaproxyRouter({ service: "web", config });
  return {
    router,
    url: `http://127.0.0.1:${haproxy.port}`,
    close: async () => {
      await router.close();
      await haproxy.stop();
    },
  };
});
