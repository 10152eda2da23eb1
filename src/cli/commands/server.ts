/** `teal server`: runs the proxy, the controller and the admin API until SIGINT/SIGTERM. */

import { dirname, resolve } from "node:path";
import { createLogger } from "../../log/logger.ts";
import { startServer } from "../../server/teal-server.ts";
import { parseStoreChoice } from "../../store/store-choice.ts";
import { type GlobalOptions, resolveConfig, resolveDataDir } from "../context.ts";

export interface ServerOptions {
  /** sqlite (default) or etcd://HOST:PORT[,HOST:PORT...] */
  readonly store?: string;
  readonly storePrefix?: string;
}

export async function serverCommand(opts: GlobalOptions & ServerOptions): Promise<never> {
  // Checked before anything starts: a typo in --store exits 2 with nothing left running.
  const store = parseStoreChoice(opts.store, opts.storePrefix);
  const { config, path } = await resolveConfig(opts, true);
  const log = createLogger({ name: "teal" });
  const server = await startServer(config, resolveDataDir(opts, config).path, log, {
    configDir: dirname(resolve(path ?? "teal.yaml")),
    store,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, "shutting down: draining in-flight requests");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  log.info("stopped");
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  // Everything teal opened is closed in order above; library sockets' idle timers must not keep
  // a stopped server around.
  process.exit(0);
}
