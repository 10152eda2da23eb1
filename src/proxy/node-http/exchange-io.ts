/**
 * A node:http request and response as the proxy sees them (engine.ts's ProxyRequest and
 * ProxyResponse), over HTTP/1.1 or an HTTP/2 stream (node:http2's compatibility objects, which
 * have the same methods and events). The response's head waits for the first body bytes, as on
 * the fast engine, so that an exchange can still replace it (discardHead) when the upstream fails
 * before its body. An upstream's trailer fields go out after the body (see #addTrailers).
 */

import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { Readable } from "node:stream";
import type { ProxyRequest, ProxyResponse, ResponseListener } from "../engine.ts";
import { headerMap } from "../header-map.ts";
import { acceptsTrailers } from "../headers.ts";
import { h2HeaderObject } from "./h2-request.ts";

export class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly remoteAddress: string | undefined;
  readonly body: Readable | null;
  readonly protocol: "h2" | undefined;
  #headers: IncomingHttpHeaders | undefined;

  /** `rawHeaders`: the list to route and forward on (an HTTP/2 stream's, rewritten: h2-request.ts). */
  constructor(
    message: IncomingMessage | Http2ServerRequest,
    hasBody: boolean,
    rawHeaders: string[] = message.rawHeaders,
    protocol?: "h2",
  ) {
    this.method = message.method ?? "GET";
    this.url = message.url ?? "/";
    this.rawHeaders = rawHeaders;
    this.remoteAddress = message.socket.remoteAddress;
    this.body = hasBody ? message : null;
    this.protocol = protocol;
  }

  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerMap(this.rawHeaders);
    return this.#headers;
  }
}

type Head = { status: number; statusText: string | undefined; headers: readonly string[] };

export class NodeResponse implements ProxyResponse {
  readonly req: NodeRequest;
  readonly res: ServerResponse | Http2ServerResponse;
  listener: ResponseListener | undefined;
  headersSent = false;
  writableFinished = false;
  destroyed = false;
  #extra: string[] | undefined;
  #head: Head | undefined;

  constructor(req: NodeRequest, res: ServerResponse | Http2ServerResponse) {
    this.req = req;
    this.res = res;
    res.on("close", () => {
      if (!this.writableFinished) this.listener?.clientClosed();
    });
    res.on("drain", () => this.listener?.clientDrained());
  }

  addHeader(name: string, value: string): void {
    if (this.#extra === undefined) this.#extra = [name, value];
    else this.#extra.push(name, value);
  }

  writeHead(status: number, statusText: string | undefined, headers: readonly string[]): void {
    if (this.headersSent || this.destroyed) return;
    this.headersSent = true;
    this.#head = { status, statusText, headers };
  }

  write(chunk: Buffer, written?: () => void): boolean {
    if (this.writableFinished || this.destroyed || chunk.length === 0 || !this.#sendHead()) {
      written?.();
      return true;
    }
    const res = this.res as ServerResponse;
    const ok = res.write(chunk, () => written?.());
    return ok || res.writableLength === 0;
  }

  end(chunk?: Buffer, trailers?: readonly string[]): void {
    if (this.writableFinished || this.destroyed) return;
    if (!this.#sendHead()) return;
    this.writableFinished = true;
    if (trailers !== undefined) this.#addTrailers(trailers);
    if (chunk === undefined) this.res.end();
    else this.res.end(chunk);
  }

  discardHead(): boolean {
    if (this.#head === undefined || this.destroyed) return false;
    this.#head = undefined;
    this.headersSent = false;
    return true;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // An HTTP/2 stream is reset with INTERNAL_ERROR: destroyed without an error, node:http2 resets
    // it with NO_ERROR, which a client reads as the end of a whole response. (The compatibility
    // layer swallows the stream's own 'error' that follows.)
    if (this.req.protocol === "h2") {
      (this.res as Http2ServerResponse).stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    } else this.res.destroy();
  }

  /**
   * HTTP/2: a trailing HEADERS frame (node:http2's compatibility response always waits for
   * trailers). HTTP/1.1: after a chunked body, when the client sent `TE: trailers` (as the fast
   * engine, http1/response.ts); node:http leaves them out of a body that is not chunked.
   */
  #addTrailers(trailers: readonly string[]): void {
    try {
      if (this.req.protocol === "h2") (this.res as Http2ServerResponse).addTrailers(h2HeaderObject(trailers));
      else if (acceptsTrailers(this.req.headers.te)) {
        const pairs: [string, string][] = [];
        for (let i = 0; i < trailers.length; i += 2) {
          // A field node:http would refuse is left out, not the whole section.
          if (sendable(trailers[i]!, trailers[i + 1]!)) pairs.push([trailers[i]!, trailers[i + 1]!]);
        }
        (this.res as ServerResponse).addTrailers(pairs);
      }
    } catch {
      // A field node:http2 will not send: the body stands without its trailers.
    }
  }

  /** Writes the waiting head; false when node:http refused it (the connection is then cut). */
  #sendHead(): boolean {
    const head = this.#head;
    if (head === undefined) return true;
    this.#head = undefined;
    const extra = this.#extra;
    const headers = extra === undefined ? head.headers : [...head.headers, ...extra];
    try {
      const res = this.res;
      // HTTP/2 has no reason phrase, and its header names are lower case.
      if (this.req.protocol === "h2")
        (res as Http2ServerResponse).writeHead(head.status, h2HeaderObject(headers));
      else if (head.statusText === undefined)
        (res as ServerResponse).writeHead(head.status, headers as string[]);
      else (res as ServerResponse).writeHead(head.status, head.statusText, headers as string[]);
      return true;
    } catch {
      // A status text node:http will not send (a character it refuses): nothing can be answered.
      this.destroy();
      return false;
    }
  }
}

function sendable(name: string, value: string): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
