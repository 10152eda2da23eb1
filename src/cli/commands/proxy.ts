/**
 * `teal proxy --store etcd://… --node NAME`: a data-plane-only node. It runs teal's proxy in
 * front of the config's static endpoints and follows the routing that `teal server` writes to
 * the shared store; it publishes the revision it serves at `nodes/NAME` under a lease. Cut off
 * from etcd it keeps serving its last routing, and catches up when etcd is back.
 */

import { systemClock } from "../../domain/clock.ts";
import { TealError } from "../../domain/errors.ts";
import { nodeAdminApp } from "../../fleet/node-admin.ts";
import { NodeKey } from "../../fleet/node-key.ts";
import { parseLeaseTtl, parseNodeName } from "../../fleet/node-name.ts";
import { ROUTING_PREFIX, RoutingFollower } from "../../fleet/routing-follower.ts";
import { StatsPublisher } from "../../fleet/stats-publisher.ts";
import { createLogger } from "../../log/logger.ts";
import { chooseEngine } from "../../proxy/engine-choice.ts";
import { createDataPlane, listenAdmin, listenError } from "../../server/teal-server.ts";
import { EtcdStore } from "../../store/etcd/etcd-store.ts";
import { followPrefix } from "../../store/follow-prefix.ts";
import { parseStoreChoice } from "../../store/store-choice.ts";
import { type GlobalOptions, resolveConfig } from "../context.ts";
import { untilStopped } from "../until-stopped.ts";

export interface ProxyOptions {
  readonly store?: string;
  readonly storePrefix?: string;
  readonly node?: string;
  readonly leaseTtl?: string;
}

export async function proxyCommand(opts: GlobalOptions & ProxyOptions, version: string): Promise<never> {
  // Checked before anything starts: a bad flag exits 2 with nothing left running.
  const choice = parseStoreChoice(opts.store, opts.storePrefix);
  if (choice.kind !== "etcd") {
    throw new TealError(
      "USAGE",
      "--store: a proxy node follows a shared store; add --store etcd://HOST:PORT[,HOST:PORT...] (the same as teal server's)",
      { details: { field: "--store" } },
    );
  }
  const name = parseNodeName(opts.node);
  const ttlMs = parseLeaseTtl(opts.leaseTtl);
  const { config } = await resolveConfig(opts, true);
  const log = createLogger({ name: "teal" }).child({ node: name });
  // As teal server does: a fast engine this Node cannot run stops the node here, with the fix.
  const engine = chooseEngine(config.proxy.engine, (message) => log.warn({ field: "proxy.engine" }, message));
  const store = await EtcdStore.open({
    endpoints: choice.endpoints,
    prefix: choice.prefix,
    onError: (err) => log.error({ err }, "store error"),
  });
  const dataPlane = await createDataPlane(config, log, engine);
  const key = new NodeKey(store, name, {
    ttlMs,
    version,
    onConnected: (connected, err) =>
      connected
        ? log.info({ revision: key.revision }, "reaching etcd again: following the routing")
        : log.warn({ err, revision: key.revision }, "cannot reach etcd: serving the last routing"),
  });
  const follower = new RoutingFollower({
    config,
    dataPlane,
    onServed: (revision) => key.serve(revision),
    onWarning: (message) => log.warn(message),
  });
  // The whole routing is in force before the proxy listens: the first request sees the fleet's state.
  const watch = await followPrefix(store, ROUTING_PREFIX, follower, undefined, {
    onWarning: (message, err) => log.warn({ err }, message),
  });
  await follower.settled();
  await key.start(follower.revision);
  const proxyAddress = await dataPlane.listen().catch((err) => {
    throw listenError(err, "proxy.listen", config.proxy.listen);
  });
  // The fleet's analysis judges every node's traffic: this node's counters go to etcd.
  const stats = new StatsPublisher(store, {
    node: name,
    ttlMs,
    clock: systemClock,
    counters: () => dataPlane.status(),
    onWarning: (message, err) => log.warn({ err }, message),
  });
  stats.start();
  const app = nodeAdminApp({
    dataPlane,
    routing: (s) => follower.routing(s),
    view: () => ({ node: name, revision: follower.revision, storeConnected: key.connected }),
  });
  const admin = await listenAdmin(app.fetch, config.admin.listen).catch((err) => {
    throw listenError(err, "admin.listen", config.admin.listen);
  });
  log.info(
    { proxy: proxyAddress, admin: `http://${admin.address}`, revision: follower.revision, store: store.root },
    "teal proxy listening",
  );
  await untilStopped(log);
  await watch.cancel().catch(() => {});
  await stats.close();
  await key.close();
  (admin.server as import("node:http").Server).closeAllConnections();
  await new Promise<void>((resolve) => admin.server.close(() => resolve()));
  await dataPlane.close();
  await store.close();
  log.info("stopped");
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  process.exit(0);
}
