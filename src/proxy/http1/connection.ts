/**
 * One client connection on teal's HTTP/1 server. Node's C++ parser reads the socket itself (as in
 * node:http) and calls in here with each head, body chunk and message end. Requests are answered
 * one at a time, in order: a pipelined request waits for the response before it. Bad input is
 * answered 400/408/431 (after a response in progress, if its request was whole) and the
 * connection closed; nothing a client sends can throw out of here. A client that stalls its
 * request body is answered 408, and one that reads nothing of a response waiting on it is cut:
 * either way the exchange ends and frees its upstream connection.
 *
 * An idle keep-alive connection costs little: after a whole sweep without a request (or at once
 * after its first response) it lets go of its parser (about 2 KB of C++ and JavaScript), and the
 * next byte that arrives makes a new one. A connection its server accepted (not a TLS one) then
 * also parks: it lets go of its net.Socket (about 2.5 KiB with its stream states, listeners and
 * the heap they keep) and keeps only the socket's TCP handle, still reading; whatever the handle
 * reads next (bytes, the end, an error) wraps it in a new net.Socket first, and Node's own read
 * callback takes it from there. See park.ts for the Node internals this needs and how they are
 * checked.
 * Its socket listeners are shared functions, not closures per connection.
 */

import type { Server, Socket } from "node:net";
import { clientErrorResponse } from "../client-errors.ts";
import type { ServerHandlers } from "../engine.ts";
import { isValidHost } from "./host-header.ts";
import { park, parkableHandle, parkedOwner, type TcpHandle, unpark } from "./park.ts";
import {
  HTTPParser,
  type ListenedParser,
  METHODS,
  newParser,
  type ParserListener,
  releaseParser,
} from "./parser.ts";
import { ClientRequest, RequestBody } from "./request.ts";
import { ClientResponse, type ResponseOwner } from "./response.ts";

/** The timeouts in sweeps (Http1Server's ticks). */
export interface TimeoutTicks {
  readonly head: number;
  readonly idle: number;
  readonly body: number;
  readonly send: number;
  /** An idle keep-alive connection lets go of its parser after this many. */
  readonly parserIdle: number;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly handlers: ServerHandlers;
  readonly maxHeaderBytes: number;
  readonly keepAliveHeader: string;
  /** The server is closing: finish what is in progress, then close. */
  readonly closing: boolean;
  /** The net.Server whose accepted sockets may park while idle (park.ts), counted against it. */
  readonly listener: Server;
  /** The coarse clock that timeouts count in (Http1Server's sweeps). */
  readonly tick: number;
  /** The connection closed, or became an upgraded socket (then it is the handler's). */
  released(conn: Connection, upgraded: boolean): void;
}

type Handle = { readStart(): number; readStop(): number; readonly writeQueueSize?: number };

/** The connection that owns a socket, for the shared socket listeners below. */
const CONNECTION = Symbol("teal.connection");
type OwnedSocket = Socket & { [CONNECTION]: Connection };

/** What the connection waits for, timed by the server's sweep. */
const WAIT_NONE = 0;
const WAIT_IDLE = 1;
const WAIT_HEAD = 2;
const WAIT_CLOSE = 3;
/** The body of the request being read (not while reading is stopped for backpressure). */
const WAIT_BODY = 4;

// Connection's yes/no states (its #flags).
const F_CLOSE_AFTER = 1;
const F_BODY_ENDS_WITH_CLOSE = 2;
const F_FAILED = 4;
const F_STOPPED = 8;
const F_GONE = 16;
const F_BEGAN = 32;

/** Pipelined requests beyond this many waiting stop the reading until they are answered. */
const MAX_QUEUED = 16;

// Head flags, found in one pass over the headers.
const HAS_BODY = 1;
const HAS_HOST = 2;
const EXPECT_CONTINUE = 4;
const EXPECT_OTHER = 8;
const DUPLICATE_HOST = 16;
const INVALID_HOST = 32;

export class Connection implements ResponseOwner, ParserListener {
  /** Undefined while parked: the handle alone stays, reading (park.ts). */
  #socket: Socket | undefined;
  readonly #host: ConnectionHost;
  /** Undefined while the connection is idle (its next byte makes one) and once it is gone. */
  #parser: ListenedParser | undefined;
  readonly #handle: Handle;
  /** The request whose body the parser is reading. */
  #parsing: ClientRequest | undefined;
  #upgrade: ClientRequest | undefined;
  #active: ClientResponse | undefined;
  /** Pipelined requests waiting for the one in progress; made by the first such request. */
  #queue: ClientRequest[] | undefined;
  /** A client error to answer once the response in progress has ended. */
  #errorAfter: string | undefined;
  /**
   * The connection's yes/no states as bits (F_*, read and written through the accessors below):
   * one field instead of six, as every idle connection keeps them (README "Performance").
   */
  #flags = 0;
  #wait = WAIT_HEAD;
  #since: number;
  /** Since when the response in progress waits on the client to read (-1: it does not). */
  #sendSince = -1;
  /** Bytes not yet taken by the client at the last sweep; fewer now means it reads. */
  #sendPending = 0;
  /** Responses ended on this connection. */
  #served = 0;

  get #closeAfter(): boolean {
    return (this.#flags & F_CLOSE_AFTER) !== 0;
  }
  set #closeAfter(on: boolean) {
    this.#flags = on ? this.#flags | F_CLOSE_AFTER : this.#flags & ~F_CLOSE_AFTER;
  }
  /** The response in progress has no length: its body ends with the connection. */
  get #bodyEndsWithClose(): boolean {
    return (this.#flags & F_BODY_ENDS_WITH_CLOSE) !== 0;
  }
  set #bodyEndsWithClose(on: boolean) {
    this.#flags = on ? this.#flags | F_BODY_ENDS_WITH_CLOSE : this.#flags & ~F_BODY_ENDS_WITH_CLOSE;
  }
  /** No more requests are taken from this connection. */
  get #failed(): boolean {
    return (this.#flags & F_FAILED) !== 0;
  }
  set #failed(on: boolean) {
    this.#flags = on ? this.#flags | F_FAILED : this.#flags & ~F_FAILED;
  }
  get #stopped(): boolean {
    return (this.#flags & F_STOPPED) !== 0;
  }
  set #stopped(on: boolean) {
    this.#flags = on ? this.#flags | F_STOPPED : this.#flags & ~F_STOPPED;
  }
  get #gone(): boolean {
    return (this.#flags & F_GONE) !== 0;
  }
  set #gone(on: boolean) {
    this.#flags = on ? this.#flags | F_GONE : this.#flags & ~F_GONE;
  }
  /** Bytes of a request head have arrived (a head timeout is then answered 408). */
  get #began(): boolean {
    return (this.#flags & F_BEGAN) !== 0;
  }
  set #began(on: boolean) {
    this.#flags = on ? this.#flags | F_BEGAN : this.#flags & ~F_BEGAN;
  }

  constructor(socket: Socket, host: ConnectionHost) {
    this.#host = host;
    this.#since = host.tick;
    this.#handle = (socket as Socket & { _handle: Handle })._handle;
    this.#listen(socket);
    this.#parser = this.#consume();
  }

  /** The socket of a connection that is not parked (only a parked one has none). */
  get socket(): Socket {
    const socket = this.#socket;
    if (socket === undefined) throw new Error("a parked connection has no socket");
    return socket;
  }

  #listen(socket: Socket): void {
    this.#socket = socket;
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on("error", ignore); // 'close' follows
    socket.on("end", onEnd);
    socket.on("close", onClose);
    socket.on("drain", onDrain);
    // Bytes reach JavaScript only while the connection has no parser; else the parser reads them in C++.
    socket.on("data", onIdleData);
  }

  /** A parser that reads the socket in C++ from now on. */
  #consume(): ListenedParser {
    const parser = newParser(HTTPParser.REQUEST, this.#host.maxHeaderBytes, this);
    parser.consume(this.#handle);
    return parser;
  }

  get keepAliveHeader(): string {
    return this.#host.keepAliveHeader;
  }

  mayKeepAlive(req: ClientRequest): boolean {
    return req.keepAlive && !this.#closeAfter && !this.#failed && !this.#host.closing;
  }

  closeAfterResponse(bodyEndsWithClose: boolean): void {
    this.#closeAfter = true;
    if (bodyEndsWithClose) this.#bodyEndsWithClose = true;
  }

  destroy(): void {
    if (this.#socket === undefined) this.unparked().destroy();
    else this.#socket.destroy();
  }

  /** The server is closing: an idle connection closes now, a busy one after its response. */
  closeWhenIdle(): void {
    if (this.#active === undefined && this.#parsing === undefined && !this.#queued()) this.destroy();
    else this.#closeAfter = true;
  }

  /** Called by the server's sweep: closes the connection if what it waits for took too long. */
  checkTimeout(tick: number, ticks: TimeoutTicks): void {
    if (this.#active !== undefined && this.socket.writableNeedDrain) {
      if (this.#sendTimedOut(tick, ticks.send)) return;
    } else this.#sendSince = -1;
    const wait = this.#wait;
    if (wait === WAIT_NONE) return;
    const limit = wait === WAIT_IDLE ? ticks.idle : wait === WAIT_BODY ? ticks.body : ticks.head;
    if (tick - this.#since < limit) {
      if (wait === WAIT_IDLE && tick - this.#since >= ticks.parserIdle) this.releaseWhileIdle();
      return;
    }
    if (wait === WAIT_BODY) this.#fail("TEAL_BODY_TIMEOUT", "request body timed out");
    else if (wait === WAIT_HEAD && this.#began && !this.#failed) {
      this.#fail("ERR_HTTP_REQUEST_TIMEOUT", "request head timed out");
    } else this.destroy();
  }

  /**
   * The response is paused on the client: any byte it takes (the queue shrinks) restarts the
   * clock, as nginx's send_timeout counts between two successful writes. Once the clock runs out,
   * the connection is cut; its exchange hears clientClosed and drops its upstream connection.
   */
  #sendTimedOut(tick: number, sendTicks: number): boolean {
    const pending = this.socket.writableLength + (this.#handle.writeQueueSize ?? 0);
    if (this.#sendSince < 0 || pending < this.#sendPending) this.#sendSince = tick;
    this.#sendPending = pending;
    if (tick - this.#sendSince < sendTicks) return false;
    this.#host.handlers.clientError("TEAL_SEND_TIMEOUT", "the client read nothing of its response in time");
    this.destroy();
    return true;
  }

  // Parser callbacks ------------------------------------------------------------------------

  messageBegin(): void {
    if (this.#failed) return; // nothing more is taken from this client: its timer runs on
    this.#began = true;
    this.#wait = WAIT_HEAD;
    this.#since = this.#host.tick;
  }

  headersComplete(
    raw: string[],
    minor: number,
    method: number,
    target: string,
    _status: number,
    _statusText: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    if (this.#failed) return upgrade ? 2 : 0;
    this.#began = false;
    this.#wait = WAIT_NONE;
    const flags = scanHead(raw);
    const name = METHODS[method] ?? "UNKNOWN";
    const body = !upgrade && (flags & HAS_BODY) !== 0 ? new RequestBody(this) : null;
    const req = new ClientRequest(name, target, raw, minor, keepAlive, this.socket.remoteAddress, body);
    this.#parsing = req;
    if (body !== null) this.#waitForBody();
    if (minor === 1 && (flags & HAS_HOST) === 0) {
      this.#refuse(req, "TEAL_NO_HOST", "HTTP/1.1 request without a Host header");
      return upgrade ? 2 : 0;
    }
    // RFC 9112 section 3.2: two Hosts, or one that is not host[:port], is refused before any routing.
    if ((flags & (DUPLICATE_HOST | INVALID_HOST)) !== 0) {
      if ((flags & DUPLICATE_HOST) !== 0)
        this.#refuse(req, "TEAL_DUPLICATE_HOST", "more than one Host header");
      else this.#refuse(req, "TEAL_INVALID_HOST", "a Host header that is not host[:port]");
      return upgrade ? 2 : 0;
    }
    if (upgrade) {
      this.#parsing = undefined;
      if (name === "CONNECT") this.#fail("TEAL_CONNECT", "CONNECT is not supported");
      else if (this.#active !== undefined) this.#fail("TEAL_PIPELINED_UPGRADE", "upgrade behind a request");
      else this.#upgrade = req;
      return 2; // the rest of the read belongs to the upgraded protocol
    }
    // Expect means something in HTTP/1.1 only (as in node:http).
    if (minor === 1 && (flags & EXPECT_OTHER) !== 0) {
      this.#refuse(req, "TEAL_EXPECTATION", "unsupported Expect");
      return 0;
    }
    if (minor === 1 && (flags & EXPECT_CONTINUE) !== 0) req.expectContinue = true;
    if (this.#active === undefined) this.#start(req);
    else {
      this.#queue ??= [];
      const queue = this.#queue;
      queue.push(req);
      if (queue.length >= MAX_QUEUED) this.#stopReading();
    }
    return 0;
  }

  body(chunk: Buffer): void {
    const req = this.#parsing;
    if (req === undefined || req.body === null) return;
    this.#since = this.#host.tick; // a byte of the body: the body (or idle) clock starts again
    if (req.dumped) return;
    if (!req.body.push(chunk)) this.#stopReading();
  }

  messageComplete(): void {
    const req = this.#parsing;
    if (req === undefined) return;
    this.#parsing = undefined;
    req.complete = true;
    if (this.#wait === WAIT_BODY) this.#wait = WAIT_NONE;
    if (req.body !== null && !req.dumped) req.body.push(null);
    this.#waitIfIdle();
  }

  executed(ret: number | Error): void {
    if (this.#gone) return;
    if (ret instanceof Error) {
      const code = (ret as NodeJS.ErrnoException).code ?? "HPE_UNKNOWN";
      this.#fail(code, ret.message);
      return;
    }
    const req = this.#upgrade;
    if (req !== undefined) this.#handOver(req, this.#parser!.getCurrentBuffer().subarray(ret));
  }

  // Idle ----------------------------------------------------------------------------------------

  /**
   * Idle (since the sweep before last, or after the first response), with nothing half-read: the
   * parser goes (it is at a message boundary, so it holds no state), and the socket's next read
   * comes to wake() in JavaScript. A socket the server accepted parks too, once its writes are
   * all out: the next sweep tries again if they are not yet.
   */
  releaseWhileIdle(): void {
    if (
      this.#socket === undefined ||
      this.#wait !== WAIT_IDLE ||
      this.#parsing !== undefined ||
      this.#stopped
    )
      return;
    const parser = this.#parser;
    if (parser !== undefined) {
      this.#parser = undefined;
      parser.listener = undefined;
      releaseParser(parser, true);
    }
    const socket = this.#socket;
    const handle = parkableHandle(socket, this.#host.listener);
    if (handle === undefined) return;
    park(socket, handle, onParkedRead, this);
    this.#socket = undefined;
  }

  /** The parked handle read something, or must close: a new socket takes it over, listened to as at the start. */
  unparked(): Socket {
    const socket = unpark(this.#handle as unknown as TcpHandle, this.#host.listener);
    this.#listen(socket);
    return socket;
  }

  /** The first bytes after an idle spell: a new parser reads them, and the socket after them. */
  wake(chunk: Buffer): void {
    if (this.#gone) return;
    let parser = this.#parser;
    if (parser === undefined) {
      parser = this.#consume();
      this.#parser = parser;
    }
    const ret = parser.execute(chunk);
    // execute() reports what the C++ read loop would have told kOnExecute.
    if (ret instanceof Error) this.executed(ret);
    else if (this.#upgrade !== undefined && !this.#gone) this.#handOver(this.#upgrade, chunk.subarray(ret));
  }

  // Reading -----------------------------------------------------------------------------------

  resumeReading(): void {
    if (!this.#stopped || this.#gone) return;
    this.#stopped = false;
    this.#handle.readStart();
    if (this.#parsing?.body != null && !this.#parsing.dumped) this.#waitForBody();
  }

  #stopReading(): void {
    if (this.#stopped || this.#gone) return;
    this.#stopped = true;
    this.#handle.readStop();
    // Nobody reads the body now (its upstream is slow): the client is not the one stalling.
    if (this.#wait === WAIT_BODY) this.#wait = WAIT_NONE;
  }

  /** A body is read: the client must keep sending it (else 408 at the body timeout). */
  #waitForBody(): void {
    if (this.#failed || this.#stopped) return;
    this.#wait = WAIT_BODY;
    this.#since = this.#host.tick;
  }

  // Requests and responses ------------------------------------------------------------------

  #start(req: ClientRequest): void {
    const res = new ClientResponse(this, req);
    this.#active = res;
    if (req.expectContinue) this.socket.write("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
    this.#host.handlers.request(req, res);
  }

  responseEnded(res: ClientResponse): void {
    if (res !== this.#active) return;
    this.#active = undefined;
    this.#served++;
    const req = res.req;
    if (!req.complete) {
      req.dump(); // nobody reads the rest of its body: read it past, to the next request
      this.resumeReading();
    }
    // Nothing may follow a body that the end of the connection delimits.
    if (this.#errorAfter !== undefined && !this.#bodyEndsWithClose) {
      this.#answer(this.#errorAfter);
      return;
    }
    if (this.#closeAfter || this.#failed || this.#host.closing) {
      this.#closeGracefully();
      return;
    }
    if (this.#queued()) process.nextTick(startNext, this);
    else this.#waitIfIdle();
  }

  startNext(): void {
    if (this.#gone || this.#active !== undefined) return;
    const next = this.#queue?.shift();
    if (next === undefined) return;
    if (this.#queue!.length < MAX_QUEUED) this.resumeReading();
    this.#start(next);
  }

  /** Nothing to answer: the keep-alive timeout runs (also while the body of an answered request is read past). */
  #waitIfIdle(): void {
    if (this.#active !== undefined || this.#queued() || this.#failed) return;
    this.#wait = WAIT_IDLE;
    this.#since = this.#host.tick;
    // Most connections that stop after one request stop for good (a page load, a health check):
    // theirs goes at once, so that a burst of new connections never holds a parser each. Once
    // the stack has unwound: this may run inside the parser's own callback.
    if (this.#served === 1 && this.#parser !== undefined) setImmediate(releaseWhileIdle, this);
  }

  // Errors and endings ------------------------------------------------------------------------

  /** Bad input (or a head timeout): report it, take no more requests, answer and close. */
  #fail(code: string, message: string): void {
    if (this.#failed || this.#gone) return;
    this.#failed = true;
    this.#parsing = undefined; // what the parser reads from now on belongs to no request
    this.#host.handlers.clientError(code, message);
    this.#dropQueue();
    const active = this.#active;
    if (active !== undefined) {
      // Behind a whole request, the bad input is a pipelined one: answer after its response.
      if (active.req.complete) {
        this.#errorAfter = code;
        return;
      }
      // Inside the request in progress (a cut or malformed body): that exchange is over.
      if (active.headersSent) {
        this.destroy();
        return;
      }
      this.#active = undefined;
      active.destroyed = true;
      active.listener?.clientClosed();
      active.req.body?.destroy(new Error("the request body was malformed"));
    }
    this.#answer(code);
  }

  /** A request that is well-formed but refused: its body (if any) is not wanted. */
  #refuse(req: ClientRequest, code: string, message: string): void {
    req.body?.destroy();
    this.#fail(code, message);
  }

  #answer(code: string): void {
    this.socket.end(clientErrorResponse(code), "latin1");
    this.#failed = true;
    this.#wait = WAIT_CLOSE; // a client that never closes its side is cut at the head timeout
    this.#since = this.#host.tick;
  }

  #closeGracefully(): void {
    this.#failed = true;
    this.#dropQueue();
    this.socket.end();
    this.#wait = WAIT_CLOSE;
    this.#since = this.#host.tick;
  }

  #queued(): boolean {
    return this.#queue !== undefined && this.#queue.length > 0;
  }

  #dropQueue(): void {
    const queue = this.#queue;
    if (queue === undefined) return;
    this.#queue = undefined;
    for (const req of queue) req.body?.destroy();
  }

  /** An upgrade request's head is read: the socket goes to the handler with what followed (head). */
  #handOver(req: ClientRequest, head: Buffer): void {
    this.#upgrade = undefined;
    this.#detach();
    this.#host.released(this, true);
    if (this.#stopped) this.#handle.readStart();
    const socket = this.socket;
    (socket as { readableFlowing: boolean | null }).readableFlowing = null; // as node:http hands it over
    this.#host.handlers.upgrade(req, socket, head);
  }

  /** The client finished sending: a request it cut short is an error (the close that follows ends the rest). */
  ended(): void {
    if (this.#gone || this.#parser === undefined) return; // an idle connection has nothing cut short
    const ret = this.#parser.finish();
    if (ret instanceof Error) this.#fail((ret as NodeJS.ErrnoException).code ?? "HPE_UNKNOWN", ret.message);
  }

  closed(): void {
    if (this.#gone) return;
    this.#detach();
    const active = this.#active;
    this.#active = undefined;
    if (active !== undefined && !active.writableFinished) active.listener?.clientClosed();
    const aborted = Object.assign(new Error("the client closed the connection"), { code: "ECONNRESET" });
    if (active !== undefined && !active.req.complete) active.req.body?.destroy(aborted);
    if (this.#parsing !== undefined && this.#parsing !== active?.req) this.#parsing.body?.destroy(aborted);
    this.#parsing = undefined;
    this.#dropQueue();
    this.#host.released(this, false);
  }

  drained(): void {
    this.#active?.listener?.clientDrained();
  }

  /** Stops listening: the parser lets go of the socket. */
  #detach(): void {
    this.#gone = true;
    this.#wait = WAIT_NONE;
    this.socket.off("end", onEnd);
    this.socket.off("close", onClose);
    this.socket.off("drain", onDrain);
    this.socket.off("data", onIdleData);
    const parser = this.#parser;
    if (parser === undefined) return;
    this.#parser = undefined;
    parser.listener = undefined;
    releaseParser(parser, true);
  }

  /** A parked handle could not be given a socket: report it and close the handle. */
  unparkFailed(err: unknown): void {
    this.#host.handlers.internalError(err);
    this.#gone = true;
    (this.#handle as unknown as { close(): void }).close();
    this.#host.released(this, false);
  }

  /** A bug in teal's code under a parser callback or a pipelined start: drop the connection. */
  threw(err: unknown): void {
    this.#host.handlers.internalError(err);
    this.destroy();
  }
}

function ignore(): void {}

// The socket listeners: `this` is the socket, shared functions rather than closures per connection.

function onEnd(this: OwnedSocket): void {
  this[CONNECTION].ended();
}

function onClose(this: OwnedSocket): void {
  this[CONNECTION].closed();
}

function onDrain(this: OwnedSocket): void {
  this[CONNECTION].drained();
}

/**
 * The handle of a parked connection read something (`this` is the handle): a socket takes it
 * over, and Node's own read callback (now the handle's) takes the read as if the socket had been
 * there all along: bytes come to onIdleData, an end or an error closes the connection.
 */
function onParkedRead(this: TcpHandle, ...args: unknown[]): unknown {
  const conn = parkedOwner(this) as Connection;
  let socket: Socket;
  try {
    socket = conn.unparked();
  } catch (err) {
    conn.unparkFailed(err); // never seen: new net.Socket() on a handle it took at accept threw
    return undefined;
  }
  if (socket.destroyed) return undefined; // net did not take the handle as expected
  return (this.onread as (...a: unknown[]) => unknown).apply(this, args);
}

/** A 'data' event: only while the connection is idle without a parser. */
function onIdleData(this: OwnedSocket, chunk: Buffer): void {
  const conn = this[CONNECTION];
  try {
    conn.wake(chunk);
  } catch (err) {
    conn.threw(err);
  }
}

function releaseWhileIdle(conn: Connection): void {
  conn.releaseWhileIdle();
}

function startNext(conn: Connection): void {
  try {
    conn.startNext();
  } catch (err) {
    conn.threw(err);
  }
}

function scanHead(raw: readonly string[]): number {
  let flags = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          if ((flags & HAS_HOST) !== 0) flags |= DUPLICATE_HOST;
          if (!isValidHost(raw[i + 1]!)) flags |= INVALID_HOST;
          flags |= HAS_HOST;
        }
        break;
      case 6:
        if (name.toLowerCase() === "expect") {
          flags |= /^\s*100-continue\s*$/i.test(raw[i + 1]!) ? EXPECT_CONTINUE : EXPECT_OTHER;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length" && raw[i + 1]!.trim() !== "0") flags |= HAS_BODY;
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") flags |= HAS_BODY;
        break;
    }
  }
  return flags;
}
