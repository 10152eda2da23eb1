/**
 * teal's HTTP/1.1 server for the proxy's listener: plain sockets read by Node's C++ parser, and
 * responses written as one string when they fit, which costs fewer instructions per request than
 * node:http's server (see README "Performance"). Head, body, send and keep-alive timeouts are
 * checked by one sweep over the connections rather than a timer per socket. An idle connection
 * parks (connection.ts, park.ts): it keeps its TCP handle but no net.Socket until it reads again.
 */

import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import {
  type ConnectionServer,
  type ListenTarget,
  type ServerHandlers,
  type ServerOptions,
  type SocketHandle,
  sweepPeriodMs,
} from "../engine.ts";
import { Connection, type ConnectionHost, type TimeoutTicks } from "./connection.ts";

export class Http1Server implements ConnectionHost, ConnectionServer {
  readonly handlers: ServerHandlers;
  readonly maxHeaderBytes: number;
  readonly keepAliveHeader: string;
  closing = false;
  #handedOver = false;
  tick = 0;
  readonly #net: Server;
  /** Connections (as parked ones) count against it: see park.ts. */
  get listener(): Server {
    return this.#net;
  }
  readonly #connections = new Set<Connection>();
  /** Upgraded sockets (WebSocket tunnels): not HTTP any more, but closed with the server. */
  readonly #tunnels = new Set<Socket>();
  readonly #sweep: NodeJS.Timeout;
  readonly #ticks: TimeoutTicks;

  constructor(options: ServerOptions, handlers: ServerHandlers) {
    this.handlers = handlers;
    this.maxHeaderBytes = options.maxHeaderBytes;
    const seconds = Math.floor(options.keepAliveTimeoutMs / 1000); // whole seconds, as node:http says it
    this.keepAliveHeader = seconds > 0 ? `keep-alive: timeout=${seconds}\r\n` : "";
    const period = sweepPeriodMs(options);
    // A wait may start just before a sweep: one tick more, so that no timeout fires early. An
    // advertised keep-alive gets a second more, as in node:http, for clients that reuse a
    // connection until just before the time they were told.
    this.#ticks = {
      head: Math.ceil(options.headersTimeoutMs / period) + 1,
      idle: Math.ceil((options.keepAliveTimeoutMs + (seconds > 0 ? 1000 : 0)) / period) + 1,
      body: Math.ceil(options.bodyTimeoutMs / period) + 1,
      send: Math.ceil(options.sendTimeoutMs / period) + 1,
      // Idle for a whole sweep: no keep-alive client under load waits that long between requests.
      parserIdle: 2,
    };
    this.#net = createServer({ noDelay: true }, (socket) => this.adopt(socket));
    if (options.maxConnections !== undefined) this.#net.maxConnections = options.maxConnections;
    this.#net.on("drop", () =>
      handlers.acceptError(
        Object.assign(new Error(`over ${options.maxConnections} client connections`), { code: "EMFILE" }),
      ),
    );
    this.#sweep = setInterval(() => this.#check(), period).unref();
  }

  listen(target: ListenTarget): Promise<AddressInfo> {
    const server = this.#net;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const listening = () => {
        server.off("error", reject);
        // From now on an error is a connection that could not be accepted: not fatal.
        server.on("error", (err) => this.handlers.acceptError(err));
        resolve(server.address() as AddressInfo);
      };
      if ("handle" in target) server.listen(target.handle, 4096, listening);
      else server.listen({ host: target.host, port: target.port, backlog: 4096 }, listening);
    });
  }

  /** Node has no public accessor for it; `_handle` is what node:cluster itself hands to workers. */
  get handle(): SocketHandle | undefined {
    return (this.#net as unknown as { _handle?: SocketHandle | null })._handle ?? undefined;
  }

  async close(graceMs: number, handedOver = false): Promise<void> {
    this.closing = true;
    this.#handedOver = handedOver;
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    // Handed over: idle connections still time out (the sweep goes on) or close after their next
    // response; closing one now would fail a request its client is sending on it right then.
    if (!handedOver) {
      clearInterval(this.#sweep);
      for (const conn of this.#connections) conn.closeWhenIdle();
    }
    const cut = setTimeout(() => {
      for (const conn of this.#connections) conn.destroy();
      for (const socket of this.#tunnels) socket.destroy();
    }, graceMs).unref();
    await closed;
    clearTimeout(cut);
    clearInterval(this.#sweep);
  }

  released(conn: Connection, upgraded: boolean): void {
    this.#connections.delete(conn);
    if (!upgraded) return;
    const socket = conn.socket;
    this.#tunnels.add(socket);
    socket.once("close", () => this.#tunnels.delete(socket));
  }

  /** Serves a connection: one this server accepted, or a TLS listener's after its handshake. */
  adopt(socket: Socket): void {
    // Handed over, a TLS connection whose handshake ends after the close is served its request
    // (answered with `Connection: close`): its client is already sending it.
    if (this.closing && !this.#handedOver) {
      socket.destroy();
      return;
    }
    try {
      this.#connections.add(new Connection(socket, this));
    } catch (err) {
      this.handlers.internalError(err);
      socket.destroy();
    }
  }

  #check(): void {
    const tick = ++this.tick;
    for (const conn of this.#connections) conn.checkTimeout(tick, this.#ticks);
  }
}
