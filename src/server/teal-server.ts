/**
 * The composition root: picks the adapters (SQLite or etcd store, in-process or clustered proxy) and
 * wires the controller and the admin API. Start order matters: routing is loaded and applied
 * before the proxy listens, so the first request after a restart already sees the last state.
 * A takeover (takeover.ts) starts on the sockets of the teal it replaces and ends that one with
 * `retire`, which leaves the instances running.
 */

import type { Server } from "node:http";
import { availableParallelism, hostname } from "node:os";
import { resolve } from "node:path";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import type { AcmeOrderer } from "../acme/orderer.ts";
import { PrometheusSource } from "../analysis/prometheus-source.ts";
import { ProxySource } from "../analysis/proxy-source.ts";
import { WebSource } from "../analysis/web-source.ts";
import { createAdminApp } from "../api/app.ts";
import { deploymentMarker, routingMarker } from "../api/live/markers.ts";
import { LiveSampler } from "../api/live/sampler.ts";
import { splitHostPort } from "../config/listen-address.ts";
import type { TealConfig } from "../config/schema.ts";
import { configWarnings } from "../config/warnings.ts";
import type { DataPlanePort } from "../control/data-plane-port.ts";
import { RoutingController } from "../control/routing-controller.ts";
import { RoutingRepository } from "../control/routing-repository.ts";
import { proxySettings } from "../control/spec-builder.ts";
import { adoptServices } from "../deploy/adoption.ts";
import { Deployer, type DeployerOptions } from "../deploy/deployer.ts";
import { DeploymentLog } from "../deploy/deployment-log.ts";
import { DeploymentNotices } from "../deploy/deployment-notices.ts";
import { DeploymentRepository } from "../deploy/deployment-repository.ts";
import type { DeployContext } from "../deploy/lifecycle.ts";
import { DeploymentMigrations } from "../deploy/migration-step.ts";
import { type Interruption, recoverServices } from "../deploy/recovery.ts";
import type { SchemaMigrations } from "../deploy/schema-migrations.ts";
import { ServiceUnits } from "../deploy/service-units.ts";
import { SlotRepository } from "../deploy/slot-repository.ts";
import { unitTrafficGate } from "../deploy/unit-traffic-gate.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import { TealError } from "../domain/errors.ts";
import { FleetCounters } from "../fleet/fleet-counters.ts";
import type { Election } from "../fleet/leader-election.ts";
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_LEASE_TTL_MS } from "../fleet/node-name.ts";
import { type Fleet, type FleetOptions, joinFleet } from "../fleet/server-node.ts";
import { StatsPublisher } from "../fleet/stats-publisher.ts";
import { HealthMonitor } from "../health/health-monitor.ts";
import { accessLogTo, type Logger } from "../log/logger.ts";
import { PostgresMigrations } from "../migrate/postgres-migrations.ts";
import type { ListenSockets } from "../proxy/data-plane.ts";
import type { SocketHandle } from "../proxy/engine.ts";
import {
  type AcmeCertificateSource,
  CertificateViews,
  type TlsCertificateView,
} from "../proxy/tls/certificate-views.ts";
import { Certificates } from "../proxy/tls/certificates.ts";
import type { DockerRuntimes, dockerRuntimes } from "../runtime/docker/service-runtimes.ts";
import { ProcessRuntime } from "../runtime/process/process-runtime.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { SqliteStore } from "../store/sqlite/sqlite-store.ts";
import type { Store } from "../store/store.ts";
import type { StoreChoice } from "../store/store-choice.ts";
import type { EngineName } from "../traffic/spec.ts";
import type { DrainReport } from "../traffic/status.ts";
import type { ProxyHost } from "../workers/proxy-host.ts";
import { DataDir } from "./data-dir.ts";
import {
  type InheritedSockets,
  type SuccessorCommand,
  type SuccessorInfo,
  startSuccessor,
} from "./takeover.ts";

export interface TealServer {
  readonly proxyAddress: string;
  readonly adminUrl: string;
  readonly controller: RoutingController;
  readonly deployer: Deployer;
  readonly dataPlane: DataPlanePort;
  /** The admin API that listens on adminUrl; its route table is what GET /v1/openapi.json describes. */
  readonly adminApp: Hono;
  /** The one live sampler (its cost figures say how many reads it made). */
  readonly live: LiveSampler;
  close(): Promise<void>;
  /**
   * Hands the listening sockets to a new teal started by `command` and resolves once it serves;
   * refused (CONFLICT) while a deployment runs. On failure this server goes on as before.
   */
  handOver(command: SuccessorCommand): Promise<SuccessorInfo>;
  /** After handOver: finishes in-flight requests and closes, leaving the instances running. */
  retire(): Promise<void>;
}

export interface StartOptions {
  /** Relative paths in the config (a process runtime's cwd) start here; default: the current directory. */
  readonly configDir?: string;
  /** Where state lives (`teal server --store`); default: SQLite in the data directory. */
  readonly store?: StoreChoice;
  /** On etcd: this server's node name (published at nodes/NAME), lease TTL and ack deadline. */
  readonly fleet?: FleetOptions;
  /** Listen on these sockets, handed over by the running teal this one takes over from. */
  readonly inherited?: InheritedSockets;
}

/** How long a new teal may take to start (adopt instances, load routing) before a takeover gives up. */
const SUCCESSOR_TIMEOUT_MS = 60_000;

export async function startServer(
  config: TealConfig,
  dataDirPath: string,
  log: Logger,
  options: StartOptions = {},
): Promise<TealServer> {
  for (const w of configWarnings(config)) log.warn({ field: w.path }, `${w.path}: ${w.message}`);
  // Before anything starts: a fast engine this Node cannot run stops teal here, with the fix.
  const { chooseEngine } = await import("../proxy/engine-choice.ts");
  // h2c runs on node-http (config schema): auto means node-http with it.
  const engine = chooseEngine(config.proxy.h2c ? "node-http" : config.proxy.engine, (message) =>
    log.warn({ field: "proxy.engine" }, message),
  );
  // Certificates that cannot be served stop teal here (CONFIG_INVALID naming the field and file),
  // not in a proxy worker after the store and the instances have started.
  if (config.proxy.tls !== undefined) new Certificates(config.proxy.tls);
  const dataDir = new DataDir(dataDirPath);
  const tightened = await dataDir.ensure();
  if (tightened.length > 0) {
    log.warn(
      { dataDir: dataDir.path, tightened },
      "made the data directory private to teal's user: group and other permissions removed",
    );
  }
  await dataDir.claim(options.inherited?.from);
  const token = await dataDir.token();
  const viewToken = await dataDir.viewToken();
  const clock = systemClock;
  const store = await openStore(options.store ?? { kind: "sqlite" }, dataDir, log);
  // With SQLite there is one node: nothing to wait for. On etcd, routing writes wait for the fleet.
  const fleet: Fleet | undefined =
    options.store?.kind === "etcd"
      ? await joinFleet(store, clock, log, {
          ...fleetOptions(options.fleet, dataDir),
          quorum: config.fleet.quorum,
        }).catch(async (err) => {
          await store.close();
          throw err;
        })
      : undefined;
  const ownPlane = await createDataPlane(config, log, engine, options.inherited?.proxy);
  const dataPlane = await routedDataPlane(config, ownPlane, options.configDir, log);
  // On a fleet every node publishes its proxy's counters and the analysis judges their sum.
  const stats = fleet && fleetStats(store, dataPlane, fleetOptions(options.fleet, dataDir), clock, log);
  let acme: AcmeOrderer | undefined;
  const logDir = dataDir.logDir;
  const configDir = resolve(options.configDir ?? ".");
  // One engine client per Docker host; containers carry this data directory as their owner.
  const docker = await loadDockerRuntimes(config, { logDir, owner: resolve(dataDir.path), configDir });
  const processes = new ProcessRuntime({ logDir });
  const runtimeFor = (service: string): Runtime | undefined => {
    const type = config.services[service]?.runtime.type;
    return type === "process" ? processes : docker.runtimes.get(service);
  };
  const live = new LiveSampler({
    runtime: () => dataPlane.status(),
    onError: (err) => log.warn({ err }, "live sampler could not read the proxy's counters"),
  });
  const mark = (m: Parameters<LiveSampler["mark"]>[0] | undefined) => m && live.mark(m);
  // On a fleet, routing and deployment records are written only under the leader's fence.
  const leaderStore = fleet?.fencedStore ?? store;
  const journal = new DeploymentLog(new DeploymentRepository(leaderStore), clock);
  const units = new ServiceUnits();
  const routing = new RoutingRepository(leaderStore, {
    versionOf: (service, color) => units.find(service)?.slot(color).version ?? null,
    onPublishError: (err) => log.warn({ err }, "could not publish the active color; the next change retries"),
  });
  // The controller asks the deploy side through this gate; the deploy side commands the controller.
  const controller = new RoutingController({
    config,
    repository: routing,
    dataPlane,
    // A drained node of a fleet serves its previous color in place of the one that failed there.
    gate: unitTrafficGate(units, fleet?.servedColor),
    onChange: (c) => {
      log.info(
        { service: c.service, from: c.before, to: c.after, actor: c.actor, generation: c.generation },
        "routing changed",
      );
      mark(routingMarker(c));
    },
    onWarning: (message) => log.warn(message),
    acknowledge: fleet?.acknowledge,
  });
  const migrations = schemaMigrations(config, configDir, units);
  const ctx: DeployContext = {
    controller,
    journal,
    dataPlane,
    clock,
    log,
    ...(migrations ? { migrations } : {}),
    // On etcd a deployment also waits for the other nodes' agents, and only the leader drives one.
    ...(fleet ? { fleet: fleet.instances, leads: fleet.leads } : {}),
  };
  const monitor = new HealthMonitor({ clock });
  // Instances a crashed teal left running are taken over before the proxy's first spec.
  const adoption = await adoptServices(ctx, units, {
    config,
    configDir,
    // On etcd each node keeps its own slots (its instances), and the leader's saves become tasks.
    slots: new SlotRepository(store, {
      ...(fleet ? { onSaved: fleet.slotsSaved } : {}),
      ...(options.fleet?.node === undefined ? {} : { node: options.fleet.node }),
    }),
    runtimeFor,
    sweepAlways: processes,
    monitor,
    clock,
  });
  const notices = new DeploymentNotices(config, clock, log);
  const deployer = new Deployer({
    ctx,
    units,
    notices,
    metrics: metricSources(dataPlane, clock, stats?.counters),
  });
  const stopInstances = async () => {
    monitor.stopAll();
    notices.close();
    await units.stopInstances();
  };
  const unfollowDeployments = journal.followAll((item) => {
    mark(deploymentMarker(item));
    // A first version goes live on the live color without a switch: publish it when it ends.
    const { service } = item.deployment;
    if (item.kind === "end") void routing.publishActive(service, controller.routing(service).live);
  });
  let proxyAddress: string;
  let admin: { server: Server; address: string };
  let adminApp: Hono;
  // Admin requests being answered: a takeover waits for them before the new teal loads the state.
  let adminBusy = 0;
  let adminQuiet: (() => void) | undefined;
  const countedFetch = async (req: Request): Promise<Response> => {
    adminBusy++;
    try {
      return await adminApp.fetch(req);
    } finally {
      if (--adminBusy === 0) adminQuiet?.();
    }
  };
  try {
    await fleet?.start();
    await controller.start();
    await fleet?.follow((service, state, revision, modRevision) =>
      controller.follow(service, state, revision, modRevision),
    );
    await fleet?.publish();
    stats?.publisher.start();
    await fleet?.runInstances(units, ctx);
    await routing.publishAllActive(
      new Map(Object.keys(config.services).map((s) => [s, controller.routing(s).live])),
    );
    // On a fleet only the leader settles deployments, once it is elected (below).
    if (fleet === undefined) await recoverServices(ctx, units, adoption);
    let acmeViews: AcmeCertificateSource | undefined;
    const acmeSettings = config.proxy.tls?.acme;
    if (acmeSettings !== undefined) {
      // Loaded only with proxy.tls.acme: acme-client and its crypto libraries cost ~25 MiB of RSS.
      const { acmeCertificateSource, asCertificateListener, createOrderer } = await import(
        "../acme/acme-setup.ts"
      );
      acme = createOrderer(acmeSettings, {
        store,
        listener: asCertificateListener(ownPlane),
        clock,
        log,
        node: options.fleet?.node ?? `${hostname()}/${process.pid}`,
      });
      // Stored certificates first, so the TLS listener serves them from its first handshake.
      await acme.load();
      acmeViews = acmeCertificateSource(acme, store);
    }
    // Start-up's writes (a fresh data directory: every routing record) go to disk now, on this
    // thread before anything is served, not through the checkpoint thread: that thread would
    // stay for a minute after them (~6 MiB of RSS and the cost of starting it, for one checkpoint).
    if (store instanceof SqliteStore) store.startedUp();
    proxyAddress = await dataPlane.listen().catch((err) => {
      // proxy.tls's listener names itself (data-plane.ts).
      throw err instanceof TealError ? err : listenError(err, "proxy.listen", config.proxy.listen);
    });
    void acme?.start();
    // The sampler's first read is the one that carries every service's view (each worker builds
    // and sends 1,000 of them, ~700 KB): done now, before the admin API answers, it does not hold
    // up the first commands; the reads after it carry only what changed.
    await live.tick();
    adminApp = createAdminApp({
      controller,
      deployer,
      logDir,
      dataPlane,
      token,
      viewToken,
      live,
      proxyAddress: () => proxyAddress,
      proxyTlsAddress: () => dataPlane.tlsAddress?.(),
      publicMetrics: config.admin.publicMetrics,
      onInternalError: (err) => log.error({ err }, "admin API internal error"),
      nodes: fleet?.nodes,
      leader: fleet?.leader,
      certificates: acme?.status.bind(acme),
      tlsCertificates: tlsCertificateViews(config, acmeViews, clock),
    });
    admin = await listenAdmin(countedFetch, config.admin.listen, options.inherited?.admin).catch((err) => {
      throw listenError(err, "admin.listen", config.admin.listen);
    });
    // The leader key names this admin URL: where the other nodes send the callers of commands.
    const listening = admin;
    await fleet
      ?.lead(`http://${admin.address}`, (election) =>
        recoverServices(ctx, units, adoption, interruption(election)),
      )
      .catch((err) => {
        // The cleanup below does not know the admin server: close it here.
        listening.server.close();
        throw err;
      });
  } catch (err) {
    acme?.stop();
    unfollowDeployments();
    await stats?.publisher.close();
    await fleet?.close();
    // Nothing half-started may keep the process alive after a failed start.
    await deployer.abortDeployments().catch(() => {});
    await dataPlane.close().catch(() => {});
    await stopInstances().catch(() => {});
    await docker.close().catch(() => {});
    await store.close();
    throw err;
  }
  const adminUrl = `http://${admin.address}`;
  live.start();
  await dataDir.writeServerInfo({
    pid: process.pid,
    admin: adminUrl,
    proxy: proxyAddress,
    startedAt: new Date().toISOString(),
  });
  log.info(
    {
      proxy: proxyAddress,
      tls: dataPlane.tlsAddress?.(),
      admin: adminUrl,
      dataDir: dataDir.path,
      services: Object.keys(config.services),
    },
    "teal listening",
  );

  let handingOver = false;
  /**
   * The admin API stops accepting (the new teal accepts on the same socket) and the requests in
   * flight finish; streams (events, log follows) are cut: their clients reconnect to the new one.
   */
  const quiesceAdmin = async () => {
    const server = admin.server;
    server.close();
    server.closeIdleConnections();
    if (adminBusy > 0) await new Promise<void>((resolve) => (adminQuiet = resolve));
    adminQuiet = undefined;
    server.closeAllConnections();
  };
  return {
    proxyAddress,
    adminUrl,
    controller,
    deployer,
    dataPlane,
    adminApp,
    live,
    async handOver(command) {
      if (fleet !== undefined) {
        throw new TealError(
          "UNSUPPORTED",
          "a takeover of a server on etcd (a fleet) is not supported yet: restart it instead (the other nodes keep serving)",
        );
      }
      if (handingOver) throw new TealError("CONFLICT", "a takeover is already under way; wait for it to end");
      const busy = deployer.hold(
        "teal is handing over to a new process (takeover): try again in a few seconds",
      );
      if (busy !== undefined) {
        throw new TealError(
          "CONFLICT",
          `a deployment of ${busy} is running; a takeover does not interrupt one: retry when it has ended (teal status)`,
        );
      }
      handingOver = true;
      const proxy = ownPlane.listeningSockets();
      const adminSocket = handleOf(admin.server);
      try {
        if (proxy === undefined || adminSocket === undefined)
          throw new TealError("INTERNAL", "the listening sockets are not available for a takeover");
        return await startSuccessor(
          command,
          { admin: adminSocket, proxy },
          quiesceAdmin,
          SUCCESSOR_TIMEOUT_MS,
        );
      } catch (err) {
        // The new process is gone, and the admin socket with it: listen again where it was.
        if (!admin.server.listening) {
          admin = await listenAdmin(countedFetch, admin.address).catch((e) => {
            log.error({ err: e }, "could not listen again on the admin address after a failed takeover");
            return admin;
          });
        }
        deployer.release();
        handingOver = false;
        throw err;
      }
    },
    async retire() {
      live.stop();
      acme?.stop();
      unfollowDeployments();
      // The new teal serves on the same sockets: this one finishes its requests; instances stay.
      await ownPlane.handOff();
      monitor.stopAll();
      notices.close();
      await docker.close();
      await store.close();
    },
    async close() {
      live.stop();
      acme?.stop();
      unfollowDeployments();
      const adminClosed = new Promise<void>((resolve) => admin.server.close(() => resolve()));
      await deployer.abortDeployments();
      // Followers of logs and event streams would otherwise hold the admin server open forever.
      admin.server.closeAllConnections();
      await adminClosed;
      // The proxy drains its in-flight requests before the instances that serve them stop.
      await dataPlane.close();
      await stopInstances();
      await docker.close();
      await stats?.publisher.close();
      await fleet?.close();
      await store.close();
      await dataDir.clearServerInfo();
    },
  };
}

/** GET /v1/status's `tls` section: undefined without proxy.tls. */
function tlsCertificateViews(
  config: TealConfig,
  acme: AcmeCertificateSource | undefined,
  clock: Clock,
): (() => Promise<readonly TlsCertificateView[]>) | undefined {
  const tls = config.proxy.tls;
  if (tls === undefined) return undefined;
  const views = new CertificateViews({
    files: tls.certificates,
    ...(acme === undefined ? {} : { acme }),
    clock,
  });
  return () => views.list();
}

/** What the history says when this node settles deployments another node left running. */
function interruption(election: Election): Interruption | undefined {
  if (election.previous === undefined) return undefined;
  return {
    event: election.reason,
    what: `node ${election.previous} stopped leading`,
    failure: `interrupted when node ${election.previous} stopped leading`,
  };
}

/** The fleet's options, with the name a server without --node campaigns under. */
function fleetOptions(fleet: FleetOptions | undefined, dataDir: DataDir): FleetOptions {
  const unnamed = `${hostname()}:${resolve(dataDir.path)}`;
  return { leaseTtlMs: DEFAULT_LEASE_TTL_MS, ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS, ...fleet, unnamed };
}

/** This node's counters to etcd (under the node's name and TTL), and the fleet's sum read back. */
function fleetStats(store: Store, dataPlane: DataPlanePort, fleet: FleetOptions, clock: Clock, log: Logger) {
  const publisher = new StatsPublisher(store, {
    node: fleet.node ?? fleet.unnamed ?? hostname(),
    ttlMs: fleet.leaseTtlMs,
    clock,
    counters: () => dataPlane.status(),
    onWarning: (message, err) => log.warn({ err }, message),
  });
  return { publisher, counters: new FleetCounters(store) };
}

async function openStore(choice: StoreChoice, dataDir: DataDir, log: Logger): Promise<Store> {
  const onError = (err: unknown) => log.error({ err }, "store error");
  if (choice.kind === "sqlite")
    return SqliteStore.open({ path: dataDir.databasePath, onError, holdCheckpoints: true });
  // Loaded only for etcd: its gRPC client costs ~25 MiB of RSS that a SQLite teal never needs.
  const { EtcdStore } = await import("../store/etcd/etcd-store.ts");
  const store = await EtcdStore.open({ endpoints: choice.endpoints, prefix: choice.prefix, onError });
  log.info({ endpoints: choice.endpoints, prefix: store.root }, "state on etcd");
  return store;
}

export function listenError(err: NodeJS.ErrnoException, field: string, address: string): TealError {
  const why =
    err.code === "EADDRINUSE"
      ? "is already in use"
      : err.code === "EACCES"
        ? "needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        : err.code === "EADDRNOTAVAIL"
          ? "is not an address of this machine"
          : `cannot be listened on (${err.message})`;
  return new TealError("LISTEN_FAILED", `${field}: ${address} ${why}; choose another address in the config`, {
    cause: err,
  });
}

/**
 * Each analysis check reads its metric from Prometheus, a web endpoint, or teal's own proxy: on
 * a fleet, every node's proxy (the counters all nodes publish to etcd, added up).
 */
function metricSources(
  dataPlane: DataPlanePort,
  clock: Clock,
  fleet: FleetCounters | undefined,
): DeployerOptions["metrics"] {
  const counters = fleet ? (service: string) => fleet.read(service) : () => dataPlane.status();
  const proxy = new ProxySource(counters, clock);
  const prometheus = new PrometheusSource();
  const web = new WebSource();
  return { metrics: (check) => (check.prometheus ? prometheus : check.web ? web : proxy), proxy };
}

/** Loaded only when a service runs containers. */
async function loadDockerRuntimes(
  config: TealConfig,
  options: Parameters<typeof dockerRuntimes>[1],
): Promise<DockerRuntimes> {
  if (Object.values(config.services).every((s) => s.runtime.type !== "docker"))
    return { runtimes: new Map(), close: async () => {} };
  return (await import("../runtime/docker/service-runtimes.ts")).dockerRuntimes(config, options);
}

/** Every service gets its router: teal's own proxy (shared by all its services), nginx or HAProxy. */
async function routedDataPlane(
  config: TealConfig,
  own: DataPlanePort,
  configDir: string | undefined,
  log: Logger,
): Promise<DataPlanePort> {
  const { createRouters } = await import("../routers/create-routers.ts");
  const { RoutedDataPlane } = await import("../routers/routed-data-plane.ts");
  const { OwnProxy } = await import("../routers/teal/own-proxy.ts");
  const warn = (m: string) => log.warn(m);
  const proxy = new OwnProxy(own);
  return new RoutedDataPlane(proxy, createRouters(config, resolve(configDir ?? "."), warn, proxy), warn);
}

/** Loaded lazily: with workers, this process never loads the proxy (and its HTTP client) itself. */
export async function createDataPlane(
  config: TealConfig,
  log: Logger,
  engine: EngineName,
  inherited?: ListenSockets,
): Promise<ProxyHost> {
  const settings = { ...proxySettings(config), engine };
  const onDrained = (service: string, report: DrainReport) =>
    log.info({ service, color: report.color, state: report.state, forced: report.forced }, "drain finished");
  const workers = config.proxy.workers === "auto" ? autoWorkers() : config.proxy.workers;
  if (workers <= 1) {
    const { LocalDataPlane } = await import("../workers/local-data-plane.ts");
    return new LocalDataPlane(
      settings,
      {
        accessLog: accessLogTo(log),
        drained: onDrained,
        clientError: (code, message) => log.debug({ code, message }, "client error"),
        warning: (message) => log.warn(message),
        certificatesReloaded: () => log.info("proxy.tls: certificate files changed and were read again"),
        acceptError: (err, refused) =>
          log.warn(
            { err: err.message, refused },
            "refused client connections at the cap of 3/4 of the open-files limit (raise ulimit -n)",
          ),
        internalError: (err) => log.error({ err }, "internal error while proxying a request"),
      },
      undefined,
      inherited,
    );
  }
  const { ClusterDataPlane } = await import("../workers/cluster-data-plane.ts");
  return new ClusterDataPlane(settings, workers, log, onDrained, undefined, inherited);
}

/** Listens on `listen`, or on `handle`: the admin socket handed over by another teal (a takeover). */
export async function listenAdmin(
  fetch: (req: Request) => Response | Promise<Response>,
  listen: string,
  handle?: SocketHandle,
): Promise<{ server: Server; address: string }> {
  const { host, port } = splitHostPort(listen);
  const server = createAdaptorServer({ fetch }) as Server;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const listening = () => {
      server.off("error", reject);
      const info = server.address() as import("node:net").AddressInfo;
      const address =
        info.family === "IPv6" ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
      resolve({ server, address });
    };
    if (handle === undefined) server.listen({ host, port }, listening);
    else server.listen(handle, listening);
  });
}

/** A listening server's handle, to hand over: Node has no public accessor (node:cluster reads `_handle`). */
function handleOf(server: Server): SocketHandle | undefined {
  return (server as unknown as { _handle?: SocketHandle | null })._handle ?? undefined;
}

/**
 * Half the cores, at most 8: the proxy shares the machine with the services it fronts. On 2 cores
 * that is 1 process, which measured both faster and with a lower p99 than 2 (see the README).
 */
function autoWorkers(): number {
  return Math.min(8, Math.max(1, Math.floor(availableParallelism() / 2)));
}

/** Each service that names a database gets its migrations run by the deployment, on PostgreSQL. */
function schemaMigrations(
  config: TealConfig,
  configDir: string,
  units: ServiceUnits,
): DeploymentMigrations | undefined {
  const ports = new Map<string, SchemaMigrations>();
  for (const [name, svc] of Object.entries(config.services)) {
    if (svc.database) ports.set(name, new PostgresMigrations(svc.database, configDir));
  }
  return ports.size > 0 ? new DeploymentMigrations(ports, units) : undefined;
}
