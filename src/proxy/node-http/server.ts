/**
 * The node-http engine's server: node:http's createServer, documented options and events only.
 * node:http does the framing, pipelining, keep-alive, Expect: 100-continue and the request-head
 * timeout (headersTimeout, checked every connectionsCheckingInterval); this file adds what teal's
 * fast server does beyond it, with the same answers: the Host rules, refusing CONNECT and other
 * Expects, the answers to malformed input (client-errors.ts), and the stalled-body and
 * unread-response timeouts, checked by one sweep over the open exchanges.
 *
 * Over TLS it is node:http2's secure server: HTTP/2 by ALPN, and HTTP/1.1 for the clients that do
 * not offer it, served by the connection server given in `tls.http1` (the fast engine's, handed
 * each socket through node:http2's 'unknownProtocol') or else by node:http's own connection
 * handler with the options set on the server object (as node:http2 documents for allowHTTP1).
 * Each HTTP/2 stream becomes one exchange on node:http2's core API (h2-stream.ts, no
 * compatibility objects); its flow control is the stream's own backpressure, so a client that
 * stops reading one stream slows that stream only. The sessions and their limits: h2-sessions.ts.
 * With `h2c`, the plain listener serves HTTP/2 by prior knowledge the same way (h2c.ts).
 */

import {
  createServer,
  type ServerOptions as HttpOptions,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import {
  createServer as createH2cServer,
  createSecureServer,
  type IncomingHttpHeaders as H2Headers,
  type Http2SecureServer,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer } from "node:tls";
import type { Http2Limits } from "../../traffic/tls.ts";
import { clientErrorResponse } from "../client-errors.ts";
import {
  type ListenTarget,
  type ProxyResponse,
  type ProxyServer,
  type ServerHandlers,
  type ServerOptions,
  type SocketHandle,
  sweepPeriodMs,
} from "../engine.ts";
import { isValidHost } from "../http1/host-header.ts";
import { NodeRequest, NodeResponse } from "./exchange-io.ts";
import { h1HeadersOf } from "./h2-request.ts";
import { H2Sessions, h2ServerOptions } from "./h2-sessions.ts";
import { H2Request, H2Response } from "./h2-stream.ts";
import { serveH2c } from "./h2c.ts";

/** An open exchange, as the sweep sees it. */
interface Watched {
  readonly io: NodeResponse | H2Response;
  readonly socket: Socket;
  /** An HTTP/2 exchange's stream: its own flow, timed apart from the connection's other streams. */
  readonly stream: ServerHttp2Stream | undefined;
  /** The request body is still arriving. */
  reading: boolean;
  bodyBytes: number;
  bodySince: number;
  sendPending: number;
  sendSince: number;
}

export class NodeHttpServer implements ProxyServer {
  readonly #handlers: ServerHandlers;
  readonly #options: ServerOptions;
  readonly #server: Server;
  readonly #watched = new Set<Watched>();
  /** Upgraded sockets (WebSocket tunnels): not HTTP any more, but closed with the server. */
  readonly #tunnels = new Set<Duplex>();
  /** Bytes a connection had read when its last response ended: more since means a head began. */
  readonly #readAtIdle = new WeakMap<Socket, number>();
  readonly #sweep: NodeJS.Timeout;
  /** Over TLS: every connection, to cut them at the grace (an HTTP/2 server has no closeAllConnections). */
  readonly #tlsSockets = new Set<Socket>();
  readonly #h2: H2Sessions | undefined;
  #closing = false;

  constructor(options: ServerOptions, handlers: ServerHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    const period = sweepPeriodMs(options);
    const httpOptions: HttpOptions = {
      maxHeaderSize: options.maxHeaderBytes,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      // The whole request has no deadline: a body is timed between bytes, by the sweep below.
      requestTimeout: 0,
      connectionsCheckingInterval: period,
      // teal answers a missing or bad Host itself, with the same words as the fast engine.
      requireHostHeader: false,
      noDelay: true,
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.#request(req, res);
    const tls = options.tls;
    if (tls === undefined) {
      this.#server = createServer(httpOptions, onRequest);
      if (options.h2c !== undefined) this.#h2 = this.#serveH2c(options.h2c);
    } else if (tls.http2 === false && tls.http1 !== undefined) {
      const http1 = tls.http1;
      const server = createTlsServer({ ...tls.options, noDelay: true }, (socket) => http1.adopt(socket));
      tls.attach(server);
      // A tls.Server is a net.Server: its connections are the TLS sockets, closed at the grace below.
      this.#server = server as unknown as Server;
    } else if (tls.http2 === false) {
      const server = createHttpsServer({ ...tls.options, ...httpOptions }, onRequest);
      tls.attach(server);
      // https.Server is an http.Server over TLS sockets: the same methods and events.
      this.#server = server as unknown as Server;
    } else {
      const http1 = tls.http1;
      // No request listener: each stream is served on node:http2's core API (h2-stream.ts).
      const server: Http2SecureServer = createSecureServer({
        ...tls.options,
        ...h2ServerOptions(tls.http2, options.maxHeaderBytes),
        // With a server for HTTP/1.1 connections, node:http2 hands them over as 'unknownProtocol'
        // (its documented way to serve another protocol). Either way the ALPN choice is the
        // options' ALPNCallback (tls/alpn.ts).
        allowHTTP1: http1 === undefined,
        noDelay: true,
      });
      if (http1 === undefined) {
        // node:http serves the HTTP/1.1 connections, with the options set on the server object
        // (as node:http2 documents for allowHTTP1) and their requests as 'request' events. Adding
        // that listener makes node:http2 serve every stream through its compatibility layer
        // too, as a 'request': that 'stream' listener goes, the streams are teal's.
        Object.assign(server, httpOptions);
        server.on("request", onRequest as unknown as (...args: unknown[]) => void);
        server.removeAllListeners("stream");
      } else server.on("unknownProtocol", (socket: Socket) => http1.adopt(socket));
      tls.attach(server);
      this.#h2 = this.#sessions(tls.http2);
      server.on("session", (session) => this.#h2!.add(session));
      // Both protocols' connections: the same methods and events as an http.Server's for HTTP/1.1.
      this.#server = server as unknown as Server;
    }
    if (tls !== undefined) {
      this.#server.on("secureConnection", (socket: Socket) => {
        this.#tlsSockets.add(socket);
        socket.once("close", () => this.#tlsSockets.delete(socket));
      });
    }
    if (options.maxConnections !== undefined) this.#server.maxConnections = options.maxConnections;
    this.#server.on("drop", () =>
      handlers.acceptError(
        Object.assign(new Error(`over ${options.maxConnections} client connections`), { code: "EMFILE" }),
      ),
    );
    // A socket handed over by these two events has no error listener of node:http's any more.
    this.#server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", destroySocket);
      this.#upgrade(req, socket as Socket, head);
    });
    this.#server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
      socket.on("error", destroySocket);
      this.#refuseSocket(socket as Socket, "TEAL_CONNECT", "CONNECT is not supported");
    });
    this.#server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
      req.resume(); // its body is not wanted
      this.#refuse(
        new NodeResponse(new NodeRequest(req, false), res),
        "TEAL_EXPECTATION",
        "unsupported Expect",
      );
    });
    this.#server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.#clientError(err, socket as Socket),
    );
    this.#sweep = setInterval(() => this.#check(), period).unref();
  }

  /** h2c by prior knowledge beside HTTP/1.1 on this plain listener (h2c.ts). */
  #serveH2c(limits: Http2Limits): H2Sessions {
    // The same limits as over TLS: the options are node:http2's for both kinds of server.
    const h2 = createH2cServer(h2ServerOptions(limits, this.#options.maxHeaderBytes));
    const sessions = this.#sessions(limits);
    h2.on("session", (session) => sessions.add(session));
    serveH2c(this.#server, h2, this.#options.headersTimeoutMs);
    return sessions;
  }

  #sessions(limits: Http2Limits): H2Sessions {
    return new H2Sessions(limits, this.#handlers.clientError, (stream, headers, raw, socket, remote) =>
      this.#h2Stream(stream, headers, raw, socket, remote),
    );
  }

  listen(target: ListenTarget): Promise<AddressInfo> {
    const server = this.#server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const listening = () => {
        server.off("error", reject);
        // From now on an error is a connection that could not be accepted: not fatal.
        server.on("error", (err) => this.#handlers.acceptError(err));
        resolve(server.address() as AddressInfo);
      };
      if ("handle" in target) server.listen(target.handle, 4096, listening);
      else server.listen({ host: target.host, port: target.port, backlog: 4096 }, listening);
    });
  }

  /** Node has no public accessor for it; `_handle` is what node:cluster itself hands to workers. */
  get handle(): SocketHandle | undefined {
    return (this.#server as unknown as { _handle?: SocketHandle | null })._handle ?? undefined;
  }

  async close(graceMs: number, handedOver = false): Promise<void> {
    this.#closing = true;
    // node:http's close also closes the idle connections: handed over (engine.ts), only the
    // listener closes, and idle connections end after their next response or time out.
    const closed = new Promise<void>((resolve) =>
      handedOver
        ? NetServer.prototype.close.call(this.#server, () => resolve())
        : this.#server.close(() => resolve()),
    );
    if (!handedOver) {
      clearInterval(this.#sweep);
      // A tls.Server (HTTP/1.1 only, on the fast engine) has no HTTP connections of its own to close.
      this.#server.closeIdleConnections?.();
    }
    this.#h2?.close();
    const http1 = this.#options.tls?.http1?.close(graceMs, handedOver);
    const cut = setTimeout(() => {
      this.#h2?.destroy();
      if (this.#options.tls === undefined) this.#server.closeAllConnections();
      for (const socket of this.#tlsSockets) socket.destroy();
      for (const socket of this.#tunnels) socket.destroy();
    }, graceMs).unref();
    await Promise.all([closed, http1]);
    clearTimeout(cut);
    clearInterval(this.#sweep);
  }

  #request(message: IncomingMessage, res: ServerResponse): void {
    const socket = message.socket;
    try {
      // Busy connections close after their response once the server closes.
      if (this.#closing) res.shouldKeepAlive = false;
      const problem = headProblem(message);
      if (problem !== undefined) {
        message.resume(); // its body is not wanted
        this.#refuse(new NodeResponse(new NodeRequest(message, false), res), problem[0], problem[1]);
        return;
      }
      const req = new NodeRequest(message, hasBody(message.rawHeaders));
      const io = new NodeResponse(req, res);
      const watched: Watched = {
        io,
        socket,
        stream: undefined,
        reading: req.body !== null && !message.complete,
        bodyBytes: socket.bytesRead,
        bodySince: performance.now(),
        sendPending: 0,
        sendSince: -1,
      };
      this.#watched.add(watched);
      message.once("end", () => {
        watched.reading = false;
      });
      res.once("close", () => {
        this.#watched.delete(watched);
        this.#readAtIdle.set(socket, socket.bytesRead);
      });
      this.#handlers.request(req, io);
    } catch (err) {
      this.#handlers.internalError(err);
      socket.destroy();
    }
  }

  /** A stream's end: its exchange is no longer swept (one function for every stream). */
  readonly #h2Closed = (io: H2Response): void => {
    if (io.watched !== undefined) this.#watched.delete(io.watched as Watched);
  };

  /** One HTTP/2 stream: the same checks and handler as an HTTP/1.1 request, timed by its own flow. */
  #h2Stream(
    stream: ServerHttp2Stream,
    headers: H2Headers,
    raw: string[],
    socket: Socket,
    remoteAddress: string | undefined,
  ): void {
    try {
      const method = headers[":method"] ?? "GET";
      const req = new H2Request(stream, method, headers[":path"] ?? "/", h1HeadersOf(raw), remoteAddress);
      const io = new H2Response(req, stream, this.#h2Closed);
      const authority = headers[":authority"];
      if (authority !== undefined && !isValidHost(authority)) {
        this.#refuse(io, "TEAL_INVALID_HOST", "an :authority that is not host[:port]");
        return;
      }
      if (method === "CONNECT") {
        this.#refuse(io, "TEAL_CONNECT", "CONNECT is not supported");
        return;
      }
      const reading = req.body !== null;
      const watched: Watched = {
        io,
        socket,
        stream,
        reading,
        // Read through node:http2's socket proxy: only when a body is to be timed.
        bodyBytes: reading ? socket.bytesRead : 0,
        bodySince: performance.now(),
        sendPending: 0,
        sendSince: -1,
      };
      this.#watched.add(watched);
      io.watched = watched;
      if (reading) {
        stream.once("end", () => {
          watched.reading = false;
        });
      }
      this.#handlers.request(req, io);
    } catch (err) {
      this.#handlers.internalError(err);
      stream.destroy();
    }
  }

  #upgrade(message: IncomingMessage, socket: Socket, head: Buffer): void {
    try {
      const problem = headProblem(message);
      if (problem !== undefined) {
        this.#refuseSocket(socket, problem[0], problem[1]);
        return;
      }
      this.#tunnels.add(socket);
      socket.once("close", () => this.#tunnels.delete(socket));
      this.#handlers.upgrade(new NodeRequest(message, false), socket, head);
    } catch (err) {
      this.#handlers.internalError(err);
      socket.destroy();
    }
  }

  /**
   * A well-formed request teal will not serve: said, answered, and its connection closed (over
   * HTTP/2, its stream only: the other streams of the connection go on).
   */
  #refuse(io: ProxyResponse, code: string, message: string): void {
    this.#handlers.clientError(code, message);
    answerError(io, code);
  }

  #refuseSocket(socket: Socket, code: string, message: string): void {
    this.#handlers.clientError(code, message);
    this.#answerAndClose(socket, code);
  }

  /**
   * The error answer, then the connection is closed: at once when the client closes its side, at
   * the head timeout when it does not. Its request (if any) ends with the socket: destroying the
   * request first would take the socket, and the answer, with it.
   */
  #answerAndClose(socket: Socket, code: string): void {
    socket.end(clientErrorResponse(code), "latin1");
    setTimeout(() => socket.destroy(), this.#options.headersTimeoutMs).unref();
  }

  /** Malformed input, or a head that took too long: said and answered, as the fast engine does. */
  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? "HPE_UNKNOWN";
    if (code === "ECONNRESET" || code === "EPIPE" || !socket.writable) {
      socket.destroy();
      return;
    }
    // An idle connection that sent nothing has no request to time out: it is just closed.
    if (code === "ERR_HTTP_REQUEST_TIMEOUT" && socket.bytesRead === (this.#readAtIdle.get(socket) ?? 0)) {
      socket.destroy();
      return;
    }
    this.#handlers.clientError(code, err.message);
    // Behind a response in progress, the bad input is a pipelined request: answered after it.
    const busy = [...this.#watched].find(
      (w): w is Watched & { io: NodeResponse } =>
        w.io instanceof NodeResponse && w.socket === socket && !w.io.writableFinished,
    );
    if (busy !== undefined && !busy.reading) {
      busy.io.res.once("finish", () => this.#answerAndClose(socket, code));
      return;
    }
    if (busy !== undefined) {
      if (busy.io.headersSent) {
        socket.destroy();
        return;
      }
      busy.io.destroyed = true;
      busy.io.listener?.clientClosed();
    }
    this.#answerAndClose(socket, code);
  }

  /** Bodies that stalled and responses nobody reads, timed like the fast engine's sweep. */
  #check(): void {
    const now = performance.now();
    for (const w of this.#watched) {
      const { socket, io } = w;
      if (w.reading) {
        const body = io.req.body;
        // Reading stopped for backpressure (teal is not taking the body) is not the client's stall.
        const held = body !== null && body.readableLength > 0;
        if (socket.bytesRead !== w.bodyBytes || held) {
          w.bodyBytes = socket.bytesRead;
          w.bodySince = now;
        } else if (now - w.bodySince >= this.#options.bodyTimeoutMs) {
          this.#watched.delete(w);
          this.#handlers.clientError("TEAL_BODY_TIMEOUT", "request body timed out");
          if (w.stream !== undefined) {
            io.listener?.clientClosed();
            if (io.headersSent || io.writableFinished) w.stream.destroy();
            else answerError(io, "TEAL_BODY_TIMEOUT");
          } else if (io.headersSent || io.writableFinished) socket.destroy();
          else {
            io.destroyed = true;
            io.listener?.clientClosed();
            this.#answerAndClose(socket, "TEAL_BODY_TIMEOUT");
          }
          continue;
        }
      }
      const out = w.stream ?? socket;
      if (!io.writableFinished && out.writableNeedDrain) {
        const pending = out.writableLength;
        if (w.sendSince < 0 || pending < w.sendPending) w.sendSince = now;
        w.sendPending = pending;
        if (now - w.sendSince >= this.#options.sendTimeoutMs) {
          this.#watched.delete(w);
          this.#handlers.clientError("TEAL_SEND_TIMEOUT", "the client read nothing of its response in time");
          out.destroy();
        }
      } else w.sendSince = -1;
    }
    this.#h2?.closeIdle(now, this.#options.keepAliveTimeoutMs);
  }
}

/** The client-error answer (client-errors.ts) on an exchange; HTTP/1.1's connection closes after it. */
function answerError(io: ProxyResponse, code: string): void {
  const text = clientErrorResponse(code);
  const at = text.indexOf("\r\n\r\n");
  const [status, reason] = splitStatus(text.slice(9, text.indexOf("\r\n")));
  const body = Buffer.from(text.slice(at + 4));
  const headers = ["content-type", "text/plain; charset=utf-8", "content-length", String(body.length)];
  if (io.req.protocol !== "h2") headers.push("connection", "close");
  io.writeHead(status, reason, headers);
  io.end(body);
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Why a request head is refused before routing (as the fast engine's connection.ts), or undefined. */
function headProblem(message: IncomingMessage): [string, string] | undefined {
  const raw = message.rawHeaders;
  let hosts = 0;
  let validHost = true;
  let expect: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "host") {
      hosts++;
      if (!isValidHost(raw[i + 1]!)) validHost = false;
    } else if (name === "expect") expect = raw[i + 1];
  }
  const http11 = message.httpVersionMajor === 1 && message.httpVersionMinor === 1;
  if (http11 && hosts === 0) return ["TEAL_NO_HOST", "HTTP/1.1 request without a Host header"];
  if (hosts > 1) return ["TEAL_DUPLICATE_HOST", "more than one Host header"];
  if (!validHost) return ["TEAL_INVALID_HOST", "a Host header that is not host[:port]"];
  if (http11 && expect !== undefined && !/^\s*100-continue\s*$/i.test(expect)) {
    return ["TEAL_EXPECTATION", "unsupported Expect"];
  }
  return undefined;
}

/** A Content-Length above 0 or a Transfer-Encoding: the request has a body. */
function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "content-length" && raw[i + 1]!.trim() !== "0") return true;
    if (name === "transfer-encoding") return true;
  }
  return false;
}

function splitStatus(line: string): [number, string] {
  const space = line.indexOf(" ");
  return [Number(line.slice(0, space)), line.slice(space + 1)];
}
