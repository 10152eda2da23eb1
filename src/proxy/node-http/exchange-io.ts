/**
 * A node:http request and response as the proxy sees them (engine.ts's ProxyRequest and
 * ProxyResponse); HTTP/2 streams have their own (h2-stream.ts). The response's head waits for the
 * first body bytes, as on the fast engine, so that an exchange can still replace it (discardHead)
 * when the upstream fails before its body. An upstream's trailer fields go out after the body (see
 * #addTrailers).
 */

import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import type { Readable } from "node:stream";
import type { ProxyRequest, ProxyResponse, ResponseListener } from "../engine.ts";
import { headerMap } from "../header-map.ts";
import { acceptsTrailers } from "../headers.ts";

export class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly remoteAddress: string | undefined;
  readonly body: Readable | null;
  #headers: IncomingHttpHeaders | undefined;

  constructor(message: IncomingMessage, hasBody: boolean) {
    this.method = message.method ?? "GET";
    this.url = message.url ?? "/";
    this.rawHeaders = message.rawHeaders;
    this.remoteAddress = message.socket.remoteAddress;
    this.body = hasBody ? message : null;
  }

  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerMap(this.rawHeaders);
    return this.#headers;
  }
}

type Head = { status: number; statusText: string | undefined; headers: readonly string[] };

export class NodeResponse implements ProxyResponse {
  readonly req: NodeRequest;
  readonly res: ServerResponse;
  listener: ResponseListener | undefined;
  headersSent = false;
  writableFinished = false;
  destroyed = false;
  #extra: string[] | undefined;
  #head: Head | undefined;

  constructor(req: NodeRequest, res: ServerResponse) {
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
    const res = this.res;
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
    this.res.destroy();
  }

  /**
   * After a chunked body, when the client sent `TE: trailers` (as the fast engine,
   * http1/response.ts); node:http leaves them out of a body that is not chunked.
   */
  #addTrailers(trailers: readonly string[]): void {
    try {
      if (acceptsTrailers(this.req.headers.te)) {
        const pairs: [string, string][] = [];
        for (let i = 0; i < trailers.length; i += 2) {
          // A field node:http would refuse is left out, not the whole section.
          if (sendable(trailers[i]!, trailers[i + 1]!)) pairs.push([trailers[i]!, trailers[i + 1]!]);
        }
        this.res.addTrailers(pairs);
      }
    } catch {
      // A field node:http will not send: the body stands without its trailers.
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
      if (head.statusText === undefined) res.writeHead(head.status, headers as string[]);
      else res.writeHead(head.status, head.statusText, headers as string[]);
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
