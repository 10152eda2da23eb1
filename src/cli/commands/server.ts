/**
 * `teal server`: runs the proxy, the controller and the admin API until SIGINT/SIGTERM. SIGHUP,
 * or `teal server --takeover` beside it, hands its sockets to a new teal (server/takeover.ts).
 */

import { dirname, resolve } from "node:path";
import { isTealError, TealError } from "../../domain/errors.ts";
import { parseAckTimeout, parseLeaseTtl, parseNodeName } from "../../fleet/node-name.ts";
import type { FleetOptions } from "../../fleet/server-node.ts";
import { createLogger } from "../../log/logger.ts";
import type { DataDir } from "../../server/data-dir.ts";
import {
  announceServing,
  awaitSockets,
  listenForTakeovers,
  ownCommand,
  requestTakeover,
  type SuccessorCommand,
  type TakeoverReply,
  takeoverFrom,
} from "../../server/takeover.ts";
import { startServer, type TealServer } from "../../server/teal-server.ts";
import { parseStoreChoice, type StoreChoice } from "../../store/store-choice.ts";
import { type GlobalOptions, resolveConfig, resolveDataDir } from "../context.ts";
import { EXIT, emit, report } from "../output.ts";
import { untilStopped } from "../until-stopped.ts";

export interface ServerOptions {
  /** sqlite (default) or etcd://HOST:PORT[,HOST:PORT...] */
  readonly store?: string;
  readonly storePrefix?: string;
  readonly node?: string;
  readonly leaseTtl?: string;
  readonly ackTimeout?: string;
  /** Ask the running teal server on this data directory to hand over to this command. */
  readonly takeover?: boolean;
}

export async function serverCommand(opts: GlobalOptions & ServerOptions): Promise<number> {
  // Checked before anything starts: a typo in --store exits 2 with nothing left running.
  const store = parseStoreChoice(opts.store, opts.storePrefix);
  const fleet = fleetOptions(store, opts);
  const { config, path } = await resolveConfig(opts, true);
  const dataDir = resolveDataDir(opts, config);
  if (opts.takeover) return takeoverCommand(opts, dataDir);
  const log = createLogger({ name: "teal" });
  // SIGHUP's default is to end the process: until this one can hand over, it is ignored.
  const early = () => log.warn("SIGHUP while starting: ignored (send it again once teal serves)");
  process.on("SIGHUP", early);
  const from = takeoverFrom();
  // The old teal sends the sockets, then lets its admin requests finish: this one then loads the
  // last state.
  const inherited = from === undefined ? undefined : await awaitSockets(from);
  const server = await startServer(config, dataDir.path, log, {
    configDir: dirname(resolve(path ?? "teal.yaml")),
    store,
    fleet,
    inherited,
  });
  const ended = await serveUntilEnd(server, dataDir, log, () => {
    process.off("SIGHUP", early);
    if (!inherited) return;
    announceServing({ pid: process.pid, proxy: server.proxyAddress, admin: server.adminUrl });
    log.info({ from: inherited.from, pid: process.pid }, "took over the listening sockets");
  });
  if (ended === "handed over") await server.retire();
  else await server.close();
  log.info(ended === "handed over" ? "stopped: the new teal serves" : "stopped");
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  // Everything teal opened is closed in order above; library sockets' idle timers must not keep
  // a stopped server around.
  process.exit(0);
}

/**
 * Waits for SIGINT/SIGTERM ("stop") or a successful takeover ("handed over"); `ready` runs once
 * SIGHUP and the takeover socket can hand over.
 */
async function serveUntilEnd(
  server: TealServer,
  dataDir: DataDir,
  log: ReturnType<typeof createLogger>,
  ready: () => void,
): Promise<"stop" | "handed over"> {
  let socket: Awaited<ReturnType<typeof listenForTakeovers>> | undefined;
  const listen = async () => {
    socket = await listenForTakeovers(dataDir.takeoverSocketPath, takeOver).catch((err) => {
      log.warn({ err: err.message }, "teal server --takeover cannot reach this server (SIGHUP still works)");
      return undefined;
    });
  };
  let end: (how: "stop" | "handed over") => void = () => {};
  const ended = new Promise<"stop" | "handed over">((resolve) => (end = resolve));
  async function takeOver(command: SuccessorCommand): Promise<TakeoverReply> {
    log.info({ command: [command.execPath, ...command.args].join(" ") }, "takeover: starting a new teal");
    // Closed first: closing a unix socket's listener removes its file, which the new teal recreates.
    socket?.close();
    socket = undefined;
    try {
      const successor = await server.handOver(command);
      log.info({ successor: successor.pid }, "takeover: the new teal serves; finishing in-flight requests");
      end("handed over");
      return { ok: true, from: process.pid, successor };
    } catch (err) {
      log.error({ err: (err as Error).message }, "takeover refused or failed: this server goes on");
      await listen();
      if (isTealError(err)) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  }
  void untilStopped(log).then(() => end("stop"));
  const hup = () => void takeOver(ownCommand()).catch(() => {});
  process.on("SIGHUP", hup);
  await listen();
  ready();
  const how = await ended;
  process.off("SIGHUP", hup);
  socket?.close();
  return how;
}

/** `teal server --takeover`: the running server hands over to this very command (without the flag). */
async function takeoverCommand(opts: GlobalOptions, dataDir: DataDir): Promise<number> {
  const own = ownCommand();
  const command = { ...own, args: own.args.filter((a) => a !== "--takeover") };
  const reply = await requestTakeover(dataDir.takeoverSocketPath, command);
  if (!reply.ok) return report(new TealError(reply.code, reply.message), opts.json);
  const { successor } = reply;
  emit(
    opts.json,
    { from: reply.from, ...successor },
    () =>
      `teal server pid ${successor.pid} took over from pid ${reply.from}: proxy ${successor.proxy}, admin ${successor.admin}`,
  );
  return EXIT.ok;
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
