/**
 * The read-only admin listener of a data-plane-only node (`teal proxy`): /metrics (the proxy's
 * counters plus whether the node reaches etcd and which routing revision it serves) and
 * /v1/node (the same as JSON). Nothing here changes state, and there is no token on a node, so
 * it listens where the config's admin.listen says (loopback by default).
 */

import { Hono } from "hono";
import { prometheusText } from "../api/metrics.ts";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import { INITIAL_ROUTING, type RoutingState } from "../domain/routing.ts";

export interface NodeView {
  readonly node: string;
  /** The routing revision the proxy serves. */
  readonly revision: number;
  /** Whether the node's last keep-alive or write reached etcd. */
  readonly storeConnected: boolean;
}

export function nodeAdminApp(options: {
  readonly dataPlane: DataPlanePort;
  readonly routing: (service: string) => RoutingState | undefined;
  readonly view: () => NodeView;
}): Hono {
  const app = new Hono();
  app.get("/v1/health", (c) => c.json({ ok: true }));
  app.get("/v1/node", (c) => c.json(options.view()));
  app.get("/metrics", async (c) => {
    const [runtime, listener] = await Promise.all([
      options.dataPlane.status(),
      options.dataPlane.listenerStats(),
    ]);
    const view = options.view();
    const text =
      prometheusText(runtime, (s) => options.routing(s) ?? INITIAL_ROUTING, listener) + fleetGauges(view);
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: "a proxy node serves /metrics and /v1/node only" } }, 404),
  );
  return app;
}

export function fleetGauges(view: NodeView): string {
  return [
    "# HELP teal_store_connected 1 if this node reaches etcd, 0 if it serves its last routing cut off.",
    "# TYPE teal_store_connected gauge",
    `teal_store_connected{node="${view.node}"} ${view.storeConnected ? 1 : 0}`,
    "# HELP teal_routing_revision The store revision of the routing this node serves.",
    "# TYPE teal_routing_revision gauge",
    `teal_routing_revision{node="${view.node}"} ${view.revision}`,
    "",
  ].join("\n");
}
