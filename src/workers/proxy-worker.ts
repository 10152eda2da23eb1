/** Entry point of a proxy worker process: a DataPlane driven by its parent over IPC. */

import { accessLogTo, createLogger } from "../log/logger.ts";
import { DataPlane } from "../proxy/data-plane.ts";
import type { DataPlaneSpec, ProxySettings } from "../traffic/spec.ts";
import { formatAddress } from "./local-data-plane.ts";
import { type FromWorker, SETTINGS_ENV, type SocketMessage, STALE, type ToWorker } from "./messages.ts";
import { patchSpec } from "./spec-change.ts";
import { StatusLog } from "./status-log.ts";

const settings = JSON.parse(process.env[SETTINGS_ENV] ?? "null") as ProxySettings | null;
if (!settings || !process.send) {
  console.error("proxy-worker must be started by teal server");
  process.exit(2);
}

const log = createLogger({ name: "proxy" });
const send = (message: FromWorker) => process.send!(message);
const plane = new DataPlane(settings, {
  accessLog: accessLogTo(log),
  drained: (service, report) => {
    if (heldDrains === undefined) send({ t: "drained", service, report });
    else heldDrains.push({ t: "drained", service, report });
  },
  clientError: (code, message) => log.debug({ code, message }, "client error"),
  warning: (message) => log.warn(message),
  acceptError: (err, refused) =>
    log.warn(
      { err: err.message, refused },
      "refused client connections at the cap of 3/4 of the open-files limit (raise ulimit -n)",
    ),
  internalError: (err) => log.error({ err }, "internal error while proxying a request"),
});
const statusLog = new StatusLog();
/**
 * While a spec is applied: the drains it finished at once (nothing in flight), sent after the
 * reply, so the parent's acknowledgement does not wait behind them.
 */
let heldDrains: FromWorker[] | undefined;

/** `plane.apply`, then the reply to `id`, then the drain reports the apply made. */
function applyAndReply(spec: DataPlaneSpec, id: number): void {
  const held: FromWorker[] = [];
  heldDrains = held;
  try {
    plane.apply(spec);
    send({ t: "reply", id });
  } finally {
    heldDrains = undefined;
    for (const m of held) send(m);
  }
}
let listening = false;
/** The spec in force, which updates patch. */
let current: DataPlaneSpec | undefined;

/** The parent's listening sockets, which it sends before the first spec. */
const sockets: { plain?: object; tls?: object } = {};

process.on("message", async (message: ToWorker | SocketMessage, handle?: object) => {
  switch (message.t) {
    case "socket":
      sockets[message.listener] = handle;
      return;
    case "update": {
      const { change } = message;
      if (current === undefined || current.generation !== change.base) {
        send({ t: "reply", id: message.id, data: STALE });
        return;
      }
      current = patchSpec(current, change);
      applyAndReply(current, message.id);
      return;
    }
    case "apply": {
      if (current === undefined || message.spec.generation > current.generation) current = message.spec;
      applyAndReply(message.spec, message.id);
      if (!listening) {
        listening = true;
        const address = formatAddress(await plane.listen({ plain: sockets.plain!, tls: sockets.tls }));
        const tls = plane.tlsAddress;
        send({ t: "listening", address, tls: tls === undefined ? undefined : formatAddress(tls) });
      }
      return;
    }
    case "status":
      send({ t: "reply", id: message.id, data: statusLog.read(plane.status(), message.since) });
      return;
    case "listener":
      send({ t: "reply", id: message.id, data: plane.listenerStats() });
      return;
    case "certificate":
    case "challenge":
    case "alpn-challenge":
      try {
        if (message.t === "certificate") plane.provideCertificate(message.host, message.cert, message.key);
        else if (message.t === "challenge") plane.setChallenge(message.token, message.keyAuthorization);
        else plane.setAlpnChallenge(message.host, message.pem);
        send({ t: "reply", id: message.id });
      } catch (err) {
        send({ t: "reply", id: message.id, data: { error: (err as Error).message } });
      }
      return;
    case "close":
      await plane.close(message.graceMs, message.handedOver);
      // Before the reply: on it the parent ends this process (SIGTERM), which would drop the
      // access lines still waiting for their batch's timer.
      log.flush();
      send({ t: "reply", id: message.id });
      process.disconnect();
      return;
  }
});

// The control process is gone (even by kill -9): this worker goes with it.
process.on("disconnect", () => {
  log.flush();
  process.exit(0);
});

// Only now is the message listener in place: ask for the first spec.
send({ t: "ready" });
