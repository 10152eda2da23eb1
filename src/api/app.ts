/** The admin HTTP API: the only way the CLI (and later the dashboard) reaches a running server. */

import { Hono } from "hono";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import type { RoutingController } from "../control/routing-controller.ts";
import { TealError } from "../domain/errors.ts";
import { requireToken } from "./auth.ts";
import { errorResponse } from "./errors.ts";
import { prometheusText } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { routingRoutes } from "./routes/routing.ts";
import { statusView } from "./status-view.ts";

export interface AdminApiOptions {
  readonly controller: RoutingController;
  readonly dataPlane: DataPlanePort;
  readonly token: string;
  readonly proxyAddress: () => string;
  readonly publicMetrics: boolean;
  readonly onInternalError?: (err: unknown) => void;
}

export function createAdminApp(options: AdminApiOptions): Hono {
  const { controller, dataPlane } = options;
  const app = new Hono();
  const auth = requireToken(options.token);

  app.onError((err, c) => errorResponse(c, err, options.onInternalError));
  app.notFound((c) =>
    errorResponse(
      c,
      new TealError("NOT_FOUND", `no such endpoint: ${c.req.method} ${c.req.path}; see /v1/openapi.json`),
    ),
  );

  app.get("/v1/health", (c) => c.json({ ok: true }));
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument));
  app.get("/metrics", options.publicMetrics ? (_c, next) => next() : auth, async (c) => {
    const text = prometheusText(await dataPlane.status(), (s) => controller.routing(s));
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.use("/v1/*", auth);
  app.get("/v1/status", async (c) =>
    c.json(
      statusView(
        controller.config,
        (s) => controller.routing(s),
        await dataPlane.status(),
        options.proxyAddress(),
        controller.generation,
      ),
    ),
  );
  app.get("/v1/services/:name", async (c) => {
    const name = c.req.param("name");
    controller.routing(name);
    const view = statusView(
      controller.config,
      (s) => controller.routing(s),
      await dataPlane.status(),
      options.proxyAddress(),
      controller.generation,
    );
    return c.json(view.services.find((s) => s.name === name));
  });
  app.route("/v1/services", routingRoutes(controller, dataPlane));
  return app;
}
