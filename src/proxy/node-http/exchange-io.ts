/**
 * A node:http request and response as the proxy sees them (engine.ts's ProxyRequest and
 * ProxyResponse). The response's head waits for the first body bytes, as on the fast engine, so
 * that an exchange can still replace it (discardHead) when the upstream fails before its body.
 */

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { ProxyRequest, ProxyResponse, ResponseListener } from "../engine.ts";
import { headerMap } from "../header-map.ts";

export class NodeRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly remoteAddress: string | undefined;
  readonly body: Readable | null;
  readonly message: IncomingMessage;
  #headers: IncomingHttpHeaders | undefined;

  constructor(message: IncomingMessage, hasBody: boolean) {
    this.message = message;
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

  end(chunk?: Buffer): void {
    if (this.writableFinished || this.destroyed) return;
    if (!this.#sendHead()) return;
    this.writableFinished = true;
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

  /** Writes the waiting head; false when node:http refused it (the connection is then cut). */
  #sendHead(): boolean {
    const head = this.#head;
    if (head === undefined) return true;
    this.#head = undefined;
    const extra = this.#extra;
    const headers = extra === undefined ? head.headers : [...head.headers, ...extra];
    try {
      if (head.statusText === undefined) this.res.writeHead(head.status, headers as string[]);
      else this.res.writeHead(head.status, head.statusText, headers as string[]);
      return true;
    } catch {
      // A status text node:http will not send (a character it refuses): nothing can be answered.
      this.destroy();
      return false;
    }
  }
}
