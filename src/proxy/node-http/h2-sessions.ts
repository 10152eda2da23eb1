/**
 * The HTTP/2 connections (sessions) of a TLS listener, and the limits that keep a hostile one from
 * costing more than its share. nghttp2 and node:http2 already close a session for malformed
 * frames, an oversized frame, a header block over the HPACK table size, SETTINGS or PING floods
 * whose answers are not read (its outbound queue limit), and more refused streams than
 * maxSessionRejectedStreams; the options below set the rest from teal's Http2Limits. teal adds the
 * rapid-reset limit (CVE-2023-44487): each stream a client opens costs a route and an upstream
 * request even when it is cancelled at once, so a session that cancels more than
 * maxResetsPerSecond streams in a second is closed with GOAWAY ENHANCE_YOUR_CALM. Idle sessions
 * (no stream open) close after the keep-alive timeout, as an HTTP/1.1 connection does.
 */

import {
  constants,
  type IncomingHttpHeaders,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import type { Http2Limits } from "../../traffic/tls.ts";

interface SessionState {
  readonly owner: H2Sessions;
  readonly session: ServerHttp2Session;
  streams: number;
  idleSince: number;
  resetsSince: number;
  resets: number;
}

/** A stream's session state, for the one 'close' listener all streams share (no closure a stream). */
const STATE = Symbol("teal.h2SessionState");
type CountedStream = ServerHttp2Stream & { [STATE]: SessionState };

/** node:http2 options for these limits; `maxHeaderBytes` bounds one request's header list. */
export function h2ServerOptions(limits: Http2Limits, maxHeaderBytes: number): SecureServerOptions {
  return {
    maxSessionMemory: limits.maxSessionMemoryMb,
    maxHeaderListPairs: limits.maxHeaderPairs,
    // Streams refused for being over the limits: a client that keeps opening them is told to go.
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 100,
    maxOutstandingPings: 10,
    maxSettings: 32,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: maxHeaderBytes,
      // The HPACK table a client's encoder may use: RFC 9113's default, as nginx.
      headerTableSize: 4096,
      enablePush: false,
    },
  };
}

/**
 * Serves one stream: its header object and flat header list (as node:http2's 'stream' event gives
 * them), its connection's socket (node:http2's proxy of it, taken once per session) and the
 * client's address (read once per session: each read through that proxy costs a trap).
 */
export type StreamServer = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: string[],
  socket: Socket,
  remoteAddress: string | undefined,
) => void;

export class H2Sessions {
  readonly #limits: Http2Limits;
  readonly #abuse: (code: string, message: string) => void;
  readonly #serve: StreamServer;
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();

  /**
   * `abuse` hears of each session closed for breaking a limit (teal's log, a client error);
   * `serve` gets each stream the limits let through.
   */
  constructor(limits: Http2Limits, abuse: (code: string, message: string) => void, serve: StreamServer) {
    this.#limits = limits;
    this.#abuse = abuse;
    this.#serve = serve;
  }

  add(session: ServerHttp2Session): void {
    const state: SessionState = {
      owner: this,
      session,
      streams: 0,
      idleSince: performance.now(),
      resetsSince: 0,
      resets: 0,
    };
    this.#sessions.set(session, state);
    session.once("close", () => this.#sessions.delete(session));
    // A session's errors (a protocol error, a reset socket) end it; they are no concern of teal's.
    session.on("error", () => {});
    const socket = session.socket as Socket;
    const remoteAddress = socket.remoteAddress;
    session.on(
      "stream",
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
        state.streams++;
        (stream as CountedStream)[STATE] = state;
        stream.on("close", onStreamClose);
        this.#serve(stream, headers, raw, socket, remoteAddress);
      },
    );
  }

  /** A stream of `state`'s session closed: its count, and the rapid-reset limit. */
  closed(state: SessionState, stream: ServerHttp2Stream): void {
    state.streams--;
    const now = performance.now();
    if (state.streams === 0) state.idleSince = now;
    // Teal's own resets close with NO_ERROR; a client's cancel carries its code (CANCEL usually).
    if (stream.rstCode === constants.NGHTTP2_NO_ERROR) return;
    if (now - state.resetsSince >= 1000) {
      state.resetsSince = now;
      state.resets = 0;
    }
    const session = state.session;
    if (++state.resets > this.#limits.maxResetsPerSecond && !session.closed) {
      this.#abuse(
        "TEAL_H2_RAPID_RESET",
        `an HTTP/2 client cancelled more than ${this.#limits.maxResetsPerSecond} streams in a second; its connection was closed`,
      );
      // GOAWAY: no new stream of its is served from now on; the connection closes once its
      // open streams end, or is cut a second later.
      session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.close();
      setTimeout(() => session.destroy(), 1000).unref();
    }
  }

  /** Closes the sessions with no stream open for `idleMs` (the client keep-alive timeout). */
  closeIdle(now: number, idleMs: number): void {
    for (const [session, state] of this.#sessions) {
      if (state.streams === 0 && now - state.idleSince >= idleMs && !session.closed) session.close();
    }
  }

  /** GOAWAY to every session: their open streams finish, no new ones start. */
  close(): void {
    for (const session of this.#sessions.keys()) if (!session.closed) session.close();
  }

  destroy(): void {
    for (const session of this.#sessions.keys()) session.destroy();
  }
}

function onStreamClose(this: CountedStream): void {
  const state = this[STATE];
  state.owner.closed(state, this);
}
