/** `teal server`: runs the proxy, the controller and the admin API until SIGINT/SIGTERM. */

import { dirname, resolve } from "node:path";
import { TealError } from "../../domain/errors.ts";
import { parseAckTimeout, parseLeaseTtl, parseNodeName } from "../../fleet/node-name.ts";
import type { FleetOptions } from "../../fleet/server-node.ts";
import { createLogger } from "../../log/logger.ts";
import { startServer } from "../../server/teal-server.ts";
import { parseStoreChoice, type StoreChoice } from "../../store/store-choice.ts";
import { type GlobalOptions, resolveConfig, resolveDataDir } from "../context.ts";
import { untilStopped } from "../until-stopped.ts";

export interface ServerOptions {
  /** sqlite (default) or etcd://HOST:PORT[,HOST:PORT...] */
  readonly store?: string;
  readonly storePrefix?: string;
  readonly node?: string;
  readonly leaseTtl?: string;
  readonly ackTimeout?: string;
}

export async function serverCommand(opts: GlobalOptions & ServerOptions): Promise<never> {
  // Checked before anything starts: a typo in --store exits 2 with nothing left running.
  const store = parseStoreChoice(opts.store, opts.storePrefix);
  const fleet = fleetOptions(store, opts);
  const { config, path } = await resolveConfig(opts, true);
  const log = createLogger({ name: "teal" });
  const server = await startServer(config, resolveDataDir(opts, config).path, log, {
    configDir: dirname(resolve(path ?? "teal.yaml")),
    store,
    fleet,
  });
  await untilStopped(log);
  await server.close();
  log.info("stopped");
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  // Everything teal opened is closed in order above; library sockets' idle timers must not keep
  // a stopped server around.
  process.exit(0);
}

/** --node, --lease-ttl and --ack-timeout belong to a fleet, which lives on etcd. */
function fleetOptions(store: StoreChoice, opts: ServerOptions): FleetOptions | undefined {
  if (store.kind !== "etcd") {
    const flag =
      opts.node !== undefined
        ? "--node"
        : opts.leaseTtl !== undefined
          ? "--lease-ttl"
          : opts.ackTimeout !== undefined
            ? "--ack-timeout"
            : undefined;
    if (flag === undefined) return undefined;
    throw new TealError(
      "USAGE",
      `${flag}: only a server on etcd is part of a fleet; add --store etcd://HOST:PORT[,...]`,
      {
        details: { field: flag },
      },
    );
  }
  return {
    node: opts.node === undefined ? undefined : parseNodeName(opts.node),
    leaseTtlMs: parseLeaseTtl(opts.leaseTtl),
    ackTimeoutMs: parseAckTimeout(opts.ackTimeout),
  };
}
