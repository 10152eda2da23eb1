/**
 * teal's HTTP/1.1 client to one upstream: a keep-alive pool of plain sockets whose responses are
 * parsed by Node's own C++ HTTP parser (llhttp, the one node:http uses). Headers reach JavaScript
 * once per response as strings, which costs a quarter fewer instructions per proxied request than
 * undici's JavaScript header handling did (callgrind, see README "Performance"). Every socket reads
 * into one shared buffer; the parser sees the heads, and a body with a Content-Length is counted
 * here and copied out into recycled slabs (body-buffers.ts) instead of llhttp's fresh Buffer per
 * chunk. Chunked and close-delimited bodies still go through the parser, which also reads a
 * chunked body's trailer section: it goes to the exchange with onComplete.
 *
 * The contract is the handler an exchange implements: onConnect, onHeaders, onData (false pauses
 * the upstream until resume), onBodySent, onComplete, onError. Errors carry the codes
 * classifyUpstreamError knows (a connect/headers/body timeout, a closed socket, a refused connect).
 */

import { connect, type Socket } from "node:net";
import { copyChunk, READ_BUFFER } from "../body-buffers.ts";
import type { UpstreamClient, UpstreamClientOptions, UpstreamHandler, UpstreamRequest } from "../engine.ts";
import { upstreamError } from "../upstream-errors.ts";
import { WaitQueue } from "../wait-queue.ts";
import { HTTPParser, type ListenedParser, newParser, type ParserListener, releaseParser } from "./parser.ts";

type Handle = { readStart(): number; readStop(): number };

type Pending = {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  aborted: boolean;
  /** The connection carrying it, once it has one. */
  socket?: PooledSocket;
  /** Runs out its time in the queue, while it waits there. */
  timer?: NodeJS.Timeout;
};

/** RFC 9112's reason-phrase: tabs, spaces, visible ASCII and obs-text (it goes back to the client as is). */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A response's Content-Length (-1 without one, or with a Transfer-Encoding: the parser frames those). */
function contentLength(headers: readonly string[]): number {
  let length = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && name.toLowerCase() === "content-length") length = Number(headers[i + 1]);
    else if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return -1;
  }
  return Number.isSafeInteger(length) ? length : -1;
}

function hasConnection(fields: readonly string[]): boolean {
  for (let i = 0; i < fields.length; i += 2) if (fields[i]!.toLowerCase() === "connection") return true;
  return false;
}

/** llhttp found the answer malformed: its HPE_* code says how. */
function parseError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class Http1Client implements UpstreamClient {
  readonly #options: UpstreamClientOptions;
  readonly #hostHeader: string;
  /** Every open connection; the idle ones are also in #idle. */
  readonly #all = new Set<PooledSocket>();
  readonly #idle: PooledSocket[] = [];
  readonly #queue: WaitQueue<Pending>;
  #closing: (() => void) | undefined;
  #destroyed = false;

  constructor(options: UpstreamClientOptions) {
    this.#options = options;
    this.#queue = new WaitQueue(options.maxQueue, options.queueTimeoutMs);
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    this.#hostHeader = options.port === 80 ? host : `${host}:${options.port}`;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.#destroyed || this.#closing) {
      handler.onError(upstreamError("UPSTREAM_DESTROYED", "the endpoint was closed"));
      return;
    }
    const pending: Pending = { request, handler, aborted: false };
    handler.onConnect((err?: Error) => {
      pending.aborted = true;
      if (pending.timer !== undefined) this.#queue.remove(pending);
      pending.socket?.abandon(pending, err);
    });
    if (pending.aborted) return;
    this.#assign(pending);
  }

  /** Waits for requests in flight, then closes every connection. */
  close(): Promise<void> {
    if (this.#destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#closing = resolve;
      this.#settleClose();
    });
  }

  /** Closes every connection now; requests in flight fail. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#queue.failAll();
    const gone = upstreamError("UPSTREAM_DESTROYED", "the endpoint was closed");
    for (const s of this.#all) s.fail(gone);
    this.#closing?.();
  }

  #assign(pending: Pending): void {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      idle.send(pending, true);
      return;
    }
    if (this.#all.size < this.#options.connections) {
      const s = new PooledSocket(this, this.#options);
      this.#all.add(s);
      s.send(pending, false);
      return;
    }
    // No connection is free: the request waits, for a bounded time in a bounded queue.
    this.#queue.add(pending);
  }

  get hostHeader(): string {
    return this.#hostHeader;
  }

  /** A socket finished its exchange and may carry another. */
  released(s: PooledSocket): void {
    const next = this.#queue.shift();
    if (next !== undefined && !this.#destroyed) {
      s.send(next, true);
      return;
    }
    this.#idle.push(s);
    s.idle();
    this.#settleClose();
  }

  /** A socket is gone (closed, failed or timed out while idle). */
  gone(s: PooledSocket): void {
    if (!this.#all.delete(s)) return;
    const i = this.#idle.indexOf(s);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = this.#queue.shift();
    if (next !== undefined) this.#assign(next);
    this.#settleClose();
  }

  #settleClose(): void {
    if (this.#closing === undefined || this.#queue.length > 0) return;
    if (this.#idle.length < this.#all.size) return;
    for (const s of this.#idle.splice(0)) s.destroy();
    this.#closing();
  }
}

/** One keep-alive connection, carrying one exchange at a time. */
class PooledSocket implements ParserListener {
  readonly #pool: Http1Client;
  readonly #options: UpstreamClientOptions;
  readonly #socket: Socket;
  readonly #parser: ListenedParser;
  #connected = false;
  #pending: Pending | undefined;
  #reused = false;
  #gotBytes = false;
  #status = 0;
  #keepAlive = false;
  #bodyDone = true;
  #paused = false;
  #dead = false;
  /** The answer is complete: the socket goes back to the pool once the parser has returned. */
  #releasable = false;
  /** The socket's handle (reading stops and starts on it for backpressure). */
  #handle: Handle | undefined;
  /** Bytes still to come of a body with a Content-Length, passed on here without the parser. */
  #bodyLeft = 0;
  #freed = false;
  /** The request body is read only once connected: a refused connect leaves it whole for a retry. */
  #startBody: (() => void) | undefined;
  /** The socket's inactivity timeout in force (what #setTimeout compares with). */
  #timeoutMs = -1;

  constructor(pool: Http1Client, options: UpstreamClientOptions) {
    this.#pool = pool;
    this.#options = options;
    // Reads land in the shared READ_BUFFER and are handled before the callback returns.
    const onread = { buffer: READ_BUFFER, callback: this.#onRead };
    const socket = connect({ host: options.host, port: options.port, noDelay: true, onread });
    this.#socket = socket;
    this.#setTimeout(options.connectTimeoutMs);
    socket.once("connect", () => {
      this.#connected = true;
      this.#handle = (socket as Socket & { _handle: Handle })._handle;
      if (this.#pending) this.#setTimeout(options.headersTimeoutMs);
      const start = this.#startBody;
      this.#startBody = undefined;
      start?.();
    });
    socket.on("data", () => this.destroy()); // never called with onread; keeps 'end' coming
    socket.on("end", () => this.#ended());
    socket.on("error", (err) => this.#fail(err));
    socket.on("close", () => {
      this.#fail(upstreamError("UPSTREAM_CLOSED", "the upstream closed the connection"));
      this.#freeParser();
    });
    socket.on("timeout", () => this.#timedOut());
    socket.on("drain", () => {
      const body = this.#pending?.request.body;
      if (body != null && !Buffer.isBuffer(body)) body.resume();
    });
    this.#parser = newParser(HTTPParser.RESPONSE, 0, this);
  }

  send(pending: Pending, reused: boolean): void {
    this.#pending = pending;
    this.#reused = reused;
    this.#gotBytes = false;
    this.#status = 0;
    pending.socket = this;
    const { request, handler } = pending;
    if (this.#connected) this.#setTimeout(this.#options.headersTimeoutMs);
    let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
    let hasHost = false;
    let hasLength = false;
    const h = request.headers;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      if (name.length === 4 && name.toLowerCase() === "host") hasHost = true;
      else if (name.length === 14 && name.toLowerCase() === "content-length") hasLength = true;
      head += `${name}: ${h[i + 1]}\r\n`;
    }
    if (!hasHost) head += `host: ${this.#pool.hostHeader}\r\n`;
    const body = request.body;
    if (body === null) {
      this.#bodyDone = true;
      this.#socket.write(`${head}\r\n`, "latin1");
      return;
    }
    if (Buffer.isBuffer(body)) {
      this.#bodyDone = true;
      this.#socket.write(`${head}${hasLength ? "" : `content-length: ${body.length}\r\n`}\r\n`, "latin1");
      this.#socket.write(body);
      handler.onBodySent(body);
      return;
    }
    const chunked = !hasLength;
    this.#bodyDone = false;
    this.#socket.write(`${head}${chunked ? "transfer-encoding: chunked\r\n" : ""}\r\n`, "latin1");
    const onData = (chunk: Buffer) => {
      if (this.#pending !== pending) return;
      handler.onBodySent(chunk);
      let ok: boolean;
      if (chunked) {
        // Every part of the frame is written, whatever the first write said about backpressure.
        const size = this.#socket.write(`${chunk.length.toString(16)}\r\n`);
        const data = this.#socket.write(chunk);
        ok = this.#socket.write("\r\n") && size && data;
      } else ok = this.#socket.write(chunk);
      if (!ok) body.pause();
    };
    const onEnd = () => {
      cleanup();
      if (this.#pending !== pending) return;
      if (chunked) this.#socket.write("0\r\n\r\n");
      this.#bodyDone = true;
    };
    const onAbort = () => {
      cleanup();
      if (this.#pending === pending && !this.#bodyDone) this.destroy();
    };
    const cleanup = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onAbort);
      body.off("close", onAbort);
    };
    const start = () => {
      body.on("data", onData);
      body.on("end", onEnd);
      body.on("error", onAbort);
      body.on("close", onAbort);
      body.resume();
    };
    if (this.#connected) start();
    else this.#startBody = start;
  }

  /**
   * Restarts the inactivity timeout with `ms` unless it is in force already: every read and write
   * restarts it anyway, and Node makes a new timer per call (three a request otherwise).
   */
  #setTimeout(ms: number): void {
    if (ms === this.#timeoutMs) return;
    this.#timeoutMs = ms;
    this.#socket.setTimeout(ms);
  }

  /** Back in the pool: an idle socket that hears a message, or nothing for a while, is closed. */
  idle(): void {
    this.#setTimeout(this.#options.keepAliveTimeoutMs);
  }

  /** The exchange gave up: if this connection still carries it, the connection goes too. */
  abandon(pending: Pending, err?: Error): void {
    if (this.#pending === pending) this.destroy(err);
  }

  /** Closes the connection without a word to the exchange on it (it asked, or there is none). */
  destroy(err?: Error): void {
    this.#fail(err ?? upstreamError("UPSTREAM_ABORTED", "the request was aborted"), true);
  }

  /** Closes the connection; the exchange on it hears err. */
  fail(err: Error): void {
    this.#fail(err);
  }

  #ended(): void {
    if (this.#bodyLeft > 0) {
      this.#fail(parseError("HPE_INVALID_EOF_STATE", "the upstream closed the connection mid-body"));
      return;
    }
    // A body delimited by the end of the connection ends here.
    if (this.#pending !== undefined && this.#status !== 0) {
      try {
        const r = this.#parser.finish();
        if (r instanceof Error)
          this.#fail(parseError((r as { code?: string }).code ?? "HPE_INVALID", r.message));
      } catch (err) {
        this.threw(err);
      }
    }
    this.#fail(upstreamError("UPSTREAM_CLOSED", "the upstream closed the connection"));
  }

  /**
   * One read, in READ_BUFFER: heads go through the parser, a Content-Length body is counted and
   * copied out here (the parser stops after such a head: headersComplete returns 2).
   */
  readonly #onRead = (nread: number, buf: Buffer): boolean => {
    if (this.#dead) return false;
    this.#gotBytes = true;
    let at = 0;
    while (at < nread) {
      const left = this.#bodyLeft;
      if (left > 0) {
        const end = left < nread - at ? at + left : nread;
        this.#bodyLeft = left - (end - at);
        const chunk = copyChunk(buf, at, end);
        at = end;
        // Outside the parser's guard: a throw here must not reach Node's read loop (it would end
        // the process); it fails this answer, as a throw under a parser callback does.
        try {
          this.body(chunk);
          if (this.#bodyLeft === 0) this.#bodyEnded();
        } catch (err) {
          this.threw(err);
        }
        if (this.#dead) return false;
        continue;
      }
      if (this.#releasable) {
        this.destroy(); // bytes after the answer, in the same read: this connection can't be trusted
        return false;
      }
      let ret: number | Error;
      try {
        ret = this.#parser.execute(at === 0 ? buf.subarray(0, nread) : buf.subarray(at, nread));
      } catch (err) {
        this.threw(err);
        return false;
      }
      if (this.#dead) return false;
      if (typeof ret !== "number") {
        this.#fail(parseError((ret as { code?: string }).code ?? "HPE_INVALID", ret.message));
        return false;
      }
      if (this.#bodyLeft === 0) break; // the parser took the rest of the read
      at += ret;
    }
    if (this.#releasable) {
      this.#releasable = false;
      try {
        this.#pool.released(this); // may start the next queued request on this socket
      } catch (err) {
        this.threw(err);
      }
    }
    return true;
  };

  /** Never called: the parser no longer reads the socket itself (see #onRead). */
  executed(_ret: number | Error): void {}

  /** A handler threw on what this upstream sent: the answer counts as a bad one. */
  threw(err: unknown): void {
    this.#fail(upstreamError("UPSTREAM_BAD_RESPONSE", String((err as Error | undefined)?.message ?? err)));
  }

  #timedOut(): void {
    if (this.#pending === undefined) this.destroy();
    else if (!this.#connected) this.#fail(upstreamError("UPSTREAM_CONNECT_TIMEOUT", "connect timed out"));
    else if (this.#status === 0) this.#fail(upstreamError("UPSTREAM_HEADERS_TIMEOUT", "headers timed out"));
    else this.#fail(upstreamError("UPSTREAM_BODY_TIMEOUT", "body timed out"));
  }

  /** The connection is done for: the exchange on it (if any) hears why, once. */
  #fail(err: Error, quiet = false): void {
    if (this.#dead) return;
    this.#dead = true;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#socket.destroy(); // the parser is let go of on 'close', never inside its own callbacks
    this.#parser.listener = undefined;
    if (pending !== undefined && !pending.aborted && !quiet) {
      // A reused keep-alive socket closed before any answer: the request may be repeated.
      const code = (err as { code?: string }).code;
      const stale = this.#reused && !this.#gotBytes && code !== "UPSTREAM_HEADERS_TIMEOUT";
      try {
        pending.handler.onError(stale ? upstreamError("UPSTREAM_CLOSED", err.message) : err);
      } finally {
        this.#pool.gone(this);
      }
      return;
    }
    this.#pool.gone(this);
  }

  #freeParser(): void {
    if (this.#freed) return;
    this.#freed = true;
    releaseParser(this.#parser, false);
  }

  /** A message starts: one nobody asked for, or after this request's answer, is not trusted. */
  messageBegin(): void {
    this.#gotBytes = true;
    if (this.#pending === undefined || this.#releasable) this.destroy();
  }

  headersComplete(
    headers: string[],
    _minor: number,
    _method: number,
    _url: string,
    statusCode: number,
    statusText: string,
    _upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const pending = this.#pending;
    if (pending === undefined || this.#releasable) {
      this.destroy(); // a second answer to one request: this connection can't be trusted any more
      return 0;
    }
    if (statusCode < 200) {
      if (statusCode < 100 || statusCode === 101) {
        this.#fail(upstreamError("UPSTREAM_BAD_RESPONSE", `status ${statusCode} is not an answer`));
      }
      return 0; // 1xx: the final answer follows
    }
    if (!REASON_PHRASE.test(statusText)) {
      this.#fail(upstreamError("UPSTREAM_BAD_RESPONSE", "invalid character in the status text"));
      return 0;
    }
    this.#status = statusCode;
    this.#keepAlive = keepAlive;
    this.#setTimeout(this.#options.bodyTimeoutMs);
    const resume = () => {
      if (this.#pending === pending) this.#resume();
    };
    const goOn = pending.handler.onHeaders(statusCode, headers, resume, statusText);
    if (!goOn) this.#pause();
    if (pending.request.method === "HEAD") return 1;
    if (statusCode === 204 || statusCode === 304) return 0;
    const length = contentLength(headers);
    if (length <= 0) return 0;
    // The body is passed on by #onRead; the parser stops after this head (and reports the message
    // complete at once, which messageComplete ignores while #bodyLeft > 0).
    this.#bodyLeft = length;
    return 2;
  }

  body(chunk: Buffer): void {
    const pending = this.#pending;
    if (pending === undefined || pending.aborted) return;
    if (!pending.handler.onData(chunk)) this.#pause();
  }

  messageComplete(trailers: string[] | undefined): void {
    if (this.#bodyLeft > 0) return; // the parser stopped after the head: #onRead passes the body on
    this.#bodyEnded(trailers);
  }

  #bodyEnded(trailers?: string[]): void {
    const pending = this.#pending;
    if (pending === undefined || this.#status === 0) return; // the end of a 1xx
    this.#pending = undefined;
    this.#status = 0;
    this.#resume();
    if (!pending.aborted) pending.handler.onComplete(trailers);
    // A Connection field in a trailer section closes the parser's side (llhttp refuses any answer
    // after it): the connection is not reused.
    if (!this.#keepAlive || !this.#bodyDone || (trailers !== undefined && hasConnection(trailers))) {
      this.destroy();
    } else this.#releasable = true; // handed on once the read is handled (#onRead)
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#handle?.readStop();
    this.#setTimeout(0); // a slow client is not a slow upstream
  }

  readonly #resume = (): void => {
    if (!this.#paused || this.#dead) return;
    this.#paused = false;
    this.#handle?.readStart();
    if (this.#pending !== undefined) this.#setTimeout(this.#options.bodyTimeoutMs);
  };
}
