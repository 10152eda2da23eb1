/**
 * The seam between the proxy and the HTTP code under it. An engine is a server for the clients
 * (listen, close with a grace, connection accounting, the handlers below) and a client factory
 * for the upstreams (the UpstreamHandler contract an exchange implements). The rest of the proxy
 * (exchange, data plane, endpoints, tunnels) sees only these types, so it cannot tell which
 * engine runs under it:
 *
 * - `fast` (http1/): Node's C++ parser read straight off the socket handle. Fewer instructions per
 *   request, but it stands on Node internals that are not a documented API (see README
 *   "Proxy engines"); a self-check guards it at start-up.
 * - `node-http` (node-http/): node:http's server and http.request with a keep-alive Agent, on
 *   documented APIs only.
 */

import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Readable } from "node:stream";
import type { TlsOptions, Server as TlsServer } from "node:tls";
import type { EngineName } from "../traffic/spec.ts";
import type { Http2Limits } from "../traffic/tls.ts";

/** A client's request, its head parsed and its body (if any) as a stream. */
export interface ProxyRequest {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** Header names and values as sent, flat: name, value, name, value... */
  readonly rawHeaders: string[];
  /** Headers by lower-case name: repeats joined ("; " for Cookie), Host's first kept. */
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /** Null when the request has no body. */
  readonly body: Readable | null;
  /** "h2" for an HTTP/2 stream; left out: HTTP/1.x. */
  readonly protocol?: "h2" | undefined;
}

/** Whoever streams into the response hears from the client through this. */
export interface ResponseListener {
  /** The connection closed before the response ended. */
  clientClosed(): void;
  /** The client read what was queued: writing may go on. */
  clientDrained(): void;
}

/** The answer to a ProxyRequest. */
export interface ProxyResponse {
  readonly req: ProxyRequest;
  listener: ResponseListener | undefined;
  /** writeHead was called (the head may still wait for the body). */
  readonly headersSent: boolean;
  /** end() was called. */
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  /** A header teal adds to whatever head is written (its sticky cookie). */
  addHeader(name: string, value: string): void;
  /** `headers` as flat name, value pairs, already valid (a parser read them). */
  writeHead(status: number, statusText: string | undefined, headers: readonly string[]): void;
  /**
   * False when the client is not keeping up: wait for the listener's clientDrained. `written`
   * runs once the socket is done with the chunk's bytes (sent, or dropped).
   */
  write(chunk: Buffer, written?: () => void): boolean;
  /**
   * `trailers` (flat name, value pairs, already filtered: headers.ts's downstreamTrailers) go to
   * an HTTP/2 client as a trailing HEADERS frame, and to an HTTP/1.1 client that sent
   * `TE: trailers` after a chunked body; otherwise they are dropped (RFC 9110 section 6.5.1).
   */
  end(chunk?: Buffer, trailers?: readonly string[]): void;
  /** Takes back a head nothing of which was sent, so another answer can take its place. */
  discardHead(): boolean;
  /** Cuts the client's connection (a response that cannot be finished properly). */
  destroy(): void;
}

export interface ServerHandlers {
  request(req: ProxyRequest, res: ProxyResponse): void;
  /** An Upgrade request: the socket is the handler's from now on; head is what came after the request. */
  upgrade(req: ProxyRequest, socket: Socket, head: Buffer): void;
  clientError(code: string, message: string): void;
  /** A connection was refused (at the cap below the file-descriptor limit, or accept failed); the server goes on. */
  acceptError(err: Error): void;
  /** A bug in teal's server code (the connection is dropped, the process goes on). */
  internalError(err: unknown): void;
}

export interface ServerOptions {
  readonly maxHeaderBytes: number;
  /** An idle keep-alive connection closes after this long. */
  readonly keepAliveTimeoutMs: number;
  /** A request head must arrive whole within this long (else 408). */
  readonly headersTimeoutMs: number;
  /** A request body may go this long without a byte (else 408). */
  readonly bodyTimeoutMs: number;
  /** A client may read nothing of a response that waits on it for this long (else it is closed). */
  readonly sendTimeoutMs: number;
  /** Client connections beyond this many are closed at once and reported (refused). */
  readonly maxConnections: number | undefined;
  /**
   * A plain listener's h2c by prior knowledge beside HTTP/1.1, with these limits (the node-http
   * engine only: the fast engine parses HTTP/1.1 off the socket's handle). Left out: HTTP/1.1 only.
   */
  readonly h2c?: Http2Limits;
  /**
   * Serve over TLS (the node-http engine's server does the handshakes and HTTP/2). `attach` gets
   * the server, to swap its context.
   */
  readonly tls?: {
    /** With the listener's one ALPN choice as ALPNCallback (tls/alpn.ts): the server offers no other. */
    readonly options: TlsOptions;
    attach(server: TlsServer): void;
    /** HTTP/2 by ALPN beside HTTP/1.1, with these limits; false: HTTP/1.1 only. */
    readonly http2: Http2Limits | false;
    /**
     * Serves the HTTP/1.1 connections once their handshake is done (the fast engine's server,
     * which reads a TLS socket's handle as it reads a plain one: the handle gives the decrypted
     * bytes). Left out: node:http serves them.
     */
    readonly http1?: ConnectionServer;
  };
}

/**
 * A listening socket's handle: Node's TCP handle (node:net has no public type for it), bound by
 * another part of teal or received over IPC from another teal (a takeover).
 */
export type SocketHandle = object;

/** Where a server listens: an address, or a socket it was handed. */
export type ListenTarget =
  | { readonly host: string; readonly port: number }
  | { readonly handle: SocketHandle };

export interface ProxyServer {
  listen(target: ListenTarget): Promise<AddressInfo>;
  /** The listening socket's handle once listening: a takeover hands it to a new teal. */
  readonly handle: SocketHandle | undefined;
  /**
   * Stops accepting; lets responses in progress finish for up to graceMs; then cuts the rest.
   * `handedOver`: another process accepts on the same socket now (a takeover), so idle keep-alive
   * connections are not closed at once (their client may be sending on them right then) but
   * answer their next request with `Connection: close`, or time out as usual.
   */
  close(graceMs: number, handedOver?: boolean): Promise<void>;
}

/** A server that also serves connections accepted elsewhere (a TLS listener's, after the handshake). */
export interface ConnectionServer extends ProxyServer {
  adopt(socket: Socket): void;
}

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /** Flat name, value pairs, already rewritten for the upstream. */
  readonly headers: readonly string[];
  /** A stream, or a body already read whole (it can be sent again on a retry). */
  readonly body: Readable | Buffer | null;
}

/** What an exchange hears from the upstream client; errors carry an UpstreamErrorCode. */
export interface UpstreamHandler {
  onConnect(abort: (err?: Error) => void): void;
  /** Response headers as flat name, value pairs; false pauses the upstream until resume(). */
  onHeaders(statusCode: number, headers: string[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onBodySent(chunk: Buffer | string): void;
  /** The answer ended; `trailers` as flat name, value pairs when its chunked body had a trailer section. */
  onComplete(trailers?: readonly string[]): void;
  onError(err: Error): void;
}

export interface UpstreamClientOptions {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Requests that may wait for a connection; beyond it they fail at once (UPSTREAM_QUEUE_FULL). */
  readonly maxQueue: number;
  /** How long a request may wait for a connection (else UPSTREAM_QUEUE_TIMEOUT). */
  readonly queueTimeoutMs: number;
}

/** A keep-alive pool to one upstream address. */
export interface UpstreamClient {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
  /** Waits for requests in flight, then closes every connection. */
  close(): Promise<void>;
  /** Closes every connection now; requests in flight fail. */
  destroy(): Promise<void>;
}

export interface ProxyEngine {
  readonly name: EngineName;
  createServer(options: ServerOptions, handlers: ServerHandlers): ProxyServer;
  createClient(options: UpstreamClientOptions): UpstreamClient;
  /** A server for the HTTP/1.1 connections of a TLS listener (ServerOptions.tls.http1), if this engine has one. */
  createConnectionServer?(options: ServerOptions, handlers: ServerHandlers): ConnectionServer;
}

/** Client timeouts are checked in sweeps of a quarter of the shortest one (10 ms to 1 s). */
export function sweepPeriodMs(options: ServerOptions): number {
  const shortest = Math.min(
    options.headersTimeoutMs,
    options.keepAliveTimeoutMs,
    options.bodyTimeoutMs,
    options.sendTimeoutMs,
  );
  return Math.min(1000, Math.max(10, Math.floor(shortest / 4)));
}
