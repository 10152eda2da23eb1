/**
 * The proxy's listening sockets, bound by the process that starts the proxy workers but never
 * accepted on there: each worker listens on a copy sent over IPC, as nginx's workers share the
 * master's sockets, and the kernel hands each connection to one of them. Owning them in the
 * parent is what keeps them open while workers come and go, and lets a takeover hand them to a
 * new teal (server/takeover.ts).
 */

import { lookup } from "node:dns/promises";
import * as net from "node:net";
import { getSystemErrorName } from "node:util";
import { splitHostPort } from "../config/listen-address.ts";
import { TealError } from "../domain/errors.ts";
import type { ListenSockets } from "../proxy/data-plane.ts";
import type { ProxySettings } from "../traffic/spec.ts";

/** The sockets, and how to close them in this process (the workers' copies stay open). */
export interface BoundSockets {
  readonly sockets: ListenSockets;
  close(): void;
}

interface TcpHandle {
  close(): void;
}

// Node's own helper, which node:cluster uses to bind a server socket without listening on it: no
// public API binds without starting to accept in this process.
const createServerHandle = (
  net as unknown as {
    _createServerHandle(address: string, port: number, family: number): TcpHandle | number;
  }
)._createServerHandle;

/** Binds proxy.listen and proxy.tls.listen (when set); the errors name the field. */
export async function bindListenSockets(settings: ProxySettings): Promise<BoundSockets> {
  const plain = await bind(settings.listen, "proxy.listen");
  let tls: TcpHandle | undefined;
  if (settings.tls !== undefined) {
    tls = await bind(settings.tls.listen, "proxy.tls.listen").catch((err) => {
      plain.close();
      throw err;
    });
  }
  return ownedSockets({ plain, tls });
}

/** Sockets received from elsewhere (handed over by another teal): this process owns its copies. */
export function ownedSockets(sockets: ListenSockets): BoundSockets {
  return {
    sockets,
    close: () => {
      (sockets.plain as TcpHandle).close();
      (sockets.tls as TcpHandle | undefined)?.close();
    },
  };
}

async function bind(listen: string, field: string): Promise<TcpHandle> {
  const { host, port } = splitHostPort(listen);
  const { address, family } = net.isIP(host)
    ? { address: host, family: net.isIP(host) }
    : await lookup(host).catch((err: NodeJS.ErrnoException) => {
        throw listenFailed(field, listen, err.code ?? err.message, "is not an address of this machine");
      });
  if (typeof createServerHandle !== "function") {
    // An internal: a Node that renamed it gets a clear refusal, not a TypeError.
    throw new TealError(
      "UNSUPPORTED",
      `proxy.workers: more than one proxy worker needs net._createServerHandle, which Node ${process.version} does not have; set proxy.workers: 1 or run a Node teal supports (20, 22, 24)`,
      { details: { field: "proxy.workers" } },
    );
  }
  const handle = createServerHandle(address, port, family);
  if (typeof handle !== "number") return handle;
  const code = getSystemErrorName(handle);
  const why =
    code === "EADDRINUSE"
      ? "is already in use"
      : code === "EACCES"
        ? "needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        : code === "EADDRNOTAVAIL"
          ? "is not an address of this machine"
          : `cannot be listened on (${code})`;
  throw listenFailed(field, listen, code, why);
}

function listenFailed(field: string, listen: string, code: string, why: string): TealError {
  return new TealError("LISTEN_FAILED", `${field}: ${listen} ${why}; choose another address in the config`, {
    details: { field, code },
  });
}
