/** The admin HTTP API: the only way the CLI and the dashboard reach a running server. */

import { Hono } from "hono";
import type { CertificateStatus } from "../acme/orderer.ts";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import type { RoutingController } from "../control/routing-controller.ts";
import type { Deployer } from "../deploy/deployer.ts";
import type { Deployment } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import type { TlsCertificateView } from "../proxy/tls/certificate-views.ts";
import { requireToken } from "./auth.ts";
import { limitBodySize } from "./body.ts";
import { dashboardRoutes } from "./dashboard-assets.ts";
import { errorResponse } from "./errors.ts";
import { type LeaderView, leaderGate } from "./leader-gate.ts";
import type { LiveSampler } from "./live/sampler.ts";
import { prometheusText } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { deploymentRoutes } from "./routes/deployments.ts";
import { liveRoutes } from "./routes/live.ts";
import { logRoutes } from "./routes/logs.ts";
import { routingRoutes } from "./routes/routing.ts";
import { statusView } from "./status-view.ts";

export interface AdminApiOptions {
  readonly controller: RoutingController;
  readonly deployer: Deployer;
  /** Where instances' output is captured (for GET …/logs). */
  readonly logDir: string;
  readonly dataPlane: DataPlanePort;
  readonly token: string;
  /** The dashboard's read-only token: accepted for reads only. */
  readonly viewToken?: string;
  /** Per-second traffic samples and chart markers for GET /v1/live. */
  readonly live: LiveSampler;
  /** Where the pre-built dashboard is; default: the package's dist/dashboard. */
  readonly dashboardDir?: string;
  readonly proxyAddress: () => string;
  /** proxy.tls's listener address; undefined without proxy.tls. */
  readonly proxyTlsAddress?: () => string | undefined;
  readonly publicMetrics: boolean;
  readonly onInternalError?: (err: unknown) => void;
  /** On a fleet (etcd): every live node with the routing revision it serves, for GET /v1/status. */
  readonly nodes?: () => readonly NodeStatus[];
  /** On a fleet: who leads; commands that change state are refused with NOT_LEADER elsewhere. */
  readonly leader?: () => LeaderView;
  /** With proxy.tls.acme: each host's certificate (state, expiry, last error), for GET /v1/status. */
  readonly certificates?: (() => readonly CertificateStatus[]) | undefined;
  /** With proxy.tls: every certificate served, from files and ACME, for GET /v1/status's `tls`. */
  readonly tlsCertificates?: (() => Promise<readonly TlsCertificateView[]>) | undefined;
}

export interface NodeStatus {
  readonly node: string;
  readonly revision: number;
  /** Routing revisions behind the newest one teal knows of (0: in step). */
  readonly lag: number;
  readonly version: string;
  /** When the node last published (ISO 8601). */
  readonly time: string;
  /** This node leads the fleet. */
  readonly leader?: boolean;
  /** When the server answering last saw the node write its record (ISO 8601). */
  readonly lastSeen?: string;
  /** The node's heartbeat is on time (absent for nodes too old to send one). */
  readonly storeConnected?: boolean;
  /** The node runs an agent (`teal server --node`): it runs its own instances. */
  readonly agent?: boolean;
  /** What the node runs on each color of each service, as it reports it (instances/ in etcd). */
  readonly instances?: readonly NodeInstancesStatus[];
}

/** One color of one service on one node. */
export interface NodeInstancesStatus {
  readonly service: string;
  readonly color: "blue" | "green";
  readonly version: string | null;
  /** The deployment that started it. */
  readonly deployment: number | null;
  /** starting | healthy | failed */
  readonly health: string;
  /** Why it is not healthy, else null. */
  readonly detail: string | null;
  readonly instances: readonly {
    readonly id: string;
    readonly url: string;
    readonly pid: number | null;
    readonly containerId: string | null;
    readonly alive: boolean;
  }[];
  /** When the node reported it (ISO 8601). */
  readonly time: string;
  /** The node is drained out of this service's routing (fleet.quorum): its proxy serves `serving` instead. */
  readonly drained?: { readonly serving: "blue" | "green" | null; readonly reason: string };
}

export function createAdminApp(options: AdminApiOptions): Hono {
  const { controller, dataPlane, deployer } = options;
  const app = new Hono();
  const auth = requireToken({ admin: options.token, view: options.viewToken });

  app.onError((err, c) => errorResponse(c, err, options.onInternalError));
  app.notFound((c) =>
    errorResponse(
      c,
      new TealError("NOT_FOUND", `no such endpoint: ${c.req.method} ${c.req.path}; see /v1/openapi.json`),
    ),
  );

  app.route("/", dashboardRoutes(options.dashboardDir));
  app.get("/v1/health", (c) => c.json({ ok: true }));
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument));
  app.get("/metrics", options.publicMetrics ? (_c, next) => next() : auth, async (c) => {
    const [runtime, listener] = await Promise.all([dataPlane.status(), dataPlane.listenerStats()]);
    const text = prometheusText(runtime, (s) => controller.routing(s), listener);
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.use("/v1/*", auth);
  // After the token check on /v1: a caller without the token never gets teal to read a byte of its body.
  app.use("*", limitBodySize());
  if (options.leader !== undefined) app.use("/v1/*", leaderGate(options.leader));
  const status = async () => {
    const deployments = new Map<string, Deployment>();
    for (const name of Object.keys(controller.config.services)) {
      // The running deployment, else the last one: one record read, not the whole history.
      const repo = deployer.journal.repository;
      const seq = deployer.view(name).runningSeq ?? (await repo.lastSeq(name));
      const d = seq > 0 ? await repo.get(name, seq) : undefined;
      if (d) deployments.set(name, d.value);
    }
    const view = statusView({
      config: controller.config,
      routing: (s) => controller.routing(s),
      runtime: await dataPlane.status(),
      deploy: (s) => deployer.view(s),
      deployments,
      proxy: options.proxyAddress(),
      proxyTls: options.proxyTlsAddress?.() ?? null,
      generation: controller.generation,
    });
    const leader = options.leader?.();
    const withNodes =
      options.nodes === undefined
        ? view
        : {
            ...view,
            nodes: options.nodes(),
            ...(leader?.node === undefined ? {} : { leader: { node: leader.node, admin: leader.admin } }),
          };
    const withAcme =
      options.certificates === undefined ? withNodes : { ...withNodes, certificates: options.certificates() };
    return options.tlsCertificates === undefined
      ? withAcme
      : { ...withAcme, tls: { certificates: await options.tlsCertificates() } };
  };
  app.get("/v1/status", async (c) => c.json(await status()));
  app.get("/v1/services/:name", async (c) => {
    const name = c.req.param("name");
    controller.routing(name);
    return c.json((await status()).services.find((s) => s.name === name));
  });
  app.route("/v1", liveRoutes(options.live, status));
  app.route("/v1/services", routingRoutes(controller, dataPlane));
  app.route("/v1/services", deploymentRoutes(deployer));
  app.route(
    "/v1/services",
    logRoutes((s) => void controller.routing(s), options.logDir),
  );
  return app;
}
