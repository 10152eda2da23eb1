/**
 * An HTTP/2 stream as the proxy's request and response (engine.ts's ProxyRequest and
 * ProxyResponse), on node:http2's core API: the stream itself is the request body and the
 * response's sink, with no compatibility objects (Http2ServerRequest/Response) between, which cost
 * more CPU a stream than the rest of teal's work on it. The response's head waits for the first
 * body bytes, as on the other servers, so that an exchange can still replace it (discardHead);
 * knowing the whole answer at that point, a response without a body leaves as one HEADERS frame
 * with END_STREAM, and only a response that may have trailers (no Content-Length) waits for them.
 * A stream's 'drain' is its own flow control: a client that stops reading one response slows
 * that stream only.
 */

import type { IncomingHttpHeaders } from "node:http";
import { constants, type ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import type { ProxyRequest, ProxyResponse, ResponseListener } from "../engine.ts";
import { headerMap } from "../header-map.ts";
import { h2HeaderObject } from "./h2-request.ts";

export class H2Request implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly remoteAddress: string | undefined;
  readonly body: Readable | null;
  readonly protocol = "h2" as const;
  #headers: IncomingHttpHeaders | undefined;

  /** `rawHeaders`: the stream's header list as an HTTP/1.1 upstream sees it (h2-request.ts). */
  constructor(
    stream: ServerHttp2Stream,
    method: string,
    path: string,
    rawHeaders: string[],
    remoteAddress: string | undefined,
  ) {
    this.method = method;
    this.url = path;
    this.rawHeaders = rawHeaders;
    this.remoteAddress = remoteAddress;
    // END_STREAM on the HEADERS frame: the request has no body.
    this.body = stream.endAfterHeaders ? null : stream;
  }

  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerMap(this.rawHeaders);
    return this.#headers;
  }
}

type Head = { readonly status: number; readonly headers: readonly string[] };
type H2Headers = Record<string, string | string[]>;

/** The response a stream answers with, for the shared stream listeners below. */
const RESPONSE = Symbol("teal.h2Response");
type OwnedStream = ServerHttp2Stream & { [RESPONSE]: H2Response };

export class H2Response implements ProxyResponse {
  readonly req: H2Request;
  readonly stream: ServerHttp2Stream;
  listener: ResponseListener | undefined;
  headersSent = false;
  writableFinished = false;
  destroyed = false;
  /** The server's record of this open exchange (its sweep's), handed back by `closed`. */
  watched: unknown;
  readonly #closed: ((res: H2Response) => void) | undefined;
  #extra: string[] | undefined;
  #head: Head | undefined;
  /** What goes out on 'wantTrailers' (only when responded with waitForTrailers). */
  #trailers: H2Headers | undefined;
  #waitsForTrailers = false;
  #hearsDrain = false;

  /**
   * `closed` hears of the stream's end (one function for all streams: no closure a stream). Only
   * 'close' and 'error' are listened to from the start; 'drain' and 'wantTrailers' once they can
   * matter (a write held back, a response that waits for trailers): each listener costs a stream
   * an allocation and node:http2's bookkeeping, and most answers need neither.
   */
  constructor(req: H2Request, stream: ServerHttp2Stream, closed?: (res: H2Response) => void) {
    this.req = req;
    this.stream = stream;
    this.#closed = closed;
    (stream as OwnedStream)[RESPONSE] = this;
    stream.on("close", onClose);
    // A client's RST_STREAM is an 'error' here; 'close' follows and tells the listener.
    stream.on("error", ignore);
  }

  addHeader(name: string, value: string): void {
    if (this.#extra === undefined) this.#extra = [name, value];
    else this.#extra.push(name, value);
  }

  /** HTTP/2 has no reason phrase: `statusText` is not sent. */
  writeHead(status: number, _statusText: string | undefined, headers: readonly string[]): void {
    if (this.headersSent || this.destroyed) return;
    this.headersSent = true;
    this.#head = { status, headers };
  }

  write(chunk: Buffer, written?: () => void): boolean {
    if (this.writableFinished || this.destroyed || chunk.length === 0) {
      written?.();
      return true;
    }
    // Streamed: the answer may end with trailers unless its length is known.
    if (this.#head !== undefined && !this.#respond(false, !this.#hasLength())) {
      written?.();
      return true;
    }
    const stream = this.stream;
    const ok = written === undefined ? stream.write(chunk) : stream.write(chunk, written);
    if (ok || stream.writableLength === 0) return true;
    if (!this.#hearsDrain) {
      this.#hearsDrain = true;
      stream.on("drain", onDrain);
    }
    return false;
  }

  end(chunk?: Buffer, trailers?: readonly string[]): void {
    if (this.writableFinished || this.destroyed) return;
    this.writableFinished = true;
    const last = trailers === undefined || trailers.length === 0 ? undefined : h2HeaderObject(trailers);
    if (this.#head !== undefined) {
      // The whole answer is known: no DATA frame without a body, no wait without trailers.
      const bodyless = chunk === undefined || chunk.length === 0;
      const endStream = bodyless && last === undefined;
      if (!this.#respond(endStream, last !== undefined)) return;
      if (endStream) return;
    }
    if (this.#waitsForTrailers) this.#trailers = last;
    if (chunk === undefined) this.stream.end();
    else this.stream.end(chunk);
  }

  discardHead(): boolean {
    if (this.#head === undefined || this.destroyed) return false;
    this.#head = undefined;
    this.headersSent = false;
    return true;
  }

  /**
   * Resets the stream with INTERNAL_ERROR: closed without a code, node:http2 resets it with
   * NO_ERROR, which a client reads as the end of a whole response.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  /** Sends the waiting head; false when node:http2 refused it (the stream is then reset). */
  #respond(endStream: boolean, waitForTrailers: boolean): boolean {
    const head = this.#head!;
    this.#head = undefined;
    const headers = h2HeaderObject(head.headers, this.#extra);
    headers[":status"] = String(head.status);
    try {
      if (waitForTrailers) this.stream.on("wantTrailers", onWantTrailers);
      this.stream.respond(headers, { endStream, waitForTrailers });
      this.#waitsForTrailers = waitForTrailers;
      return true;
    } catch {
      // A field node:http2 will not send, or a stream the client already reset.
      this.destroy();
      return false;
    }
  }

  #hasLength(): boolean {
    const headers = this.#head!.headers;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === 14 && name.toLowerCase() === "content-length") return true;
    }
    return false;
  }

  /** Tells the server (`closed` of the constructor) that the stream is gone. */
  closed(): void {
    this.#closed?.(this);
  }

  /** The trailing HEADERS frame: the upstream's trailers, or none (an empty DATA frame ends it). */
  sendTrailers(): void {
    const trailers = this.#trailers ?? {};
    try {
      this.stream.sendTrailers(trailers);
    } catch {
      // A field node:http2 will not send: the body stands without its trailers.
      if (!this.stream.destroyed) this.stream.sendTrailers({});
    }
  }
}

function onClose(this: OwnedStream): void {
  const res = this[RESPONSE];
  if (!res.writableFinished) res.listener?.clientClosed();
  res.closed();
}

function onDrain(this: OwnedStream): void {
  this[RESPONSE].listener?.clientDrained();
}

function onWantTrailers(this: OwnedStream): void {
  this[RESPONSE].sendTrailers();
}

function ignore(): void {}
