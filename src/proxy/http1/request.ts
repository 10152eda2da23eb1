/** A request as teal's HTTP/1 server parsed it: its head, and its body as a stream when it has one. */

import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { ProxyRequest } from "../engine.ts";
import { headerMap } from "../header-map.ts";

/** Where a body's bytes come from: the connection, which stops reading while nobody reads them. */
export interface BodySource {
  resumeReading(): void;
}

/** A request body, fed by the parser; reading it lets the connection read on. */
export class RequestBody extends Readable {
  readonly #source: BodySource;

  constructor(source: BodySource) {
    super();
    this.#source = source;
  }

  override _read(): void {
    this.#source.resumeReading();
  }

  /** As node:http's request: an error is emitted only to someone listening (else 'close' tells). */
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    callback(this.listenerCount("error") > 0 ? err : null);
  }
}

export class ClientRequest implements ProxyRequest {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** Header names and values as sent, flat: name, value, name, value... */
  readonly rawHeaders: string[];
  /** 1.0 or 1.1 (as a minor version: 0 or 1). */
  readonly minorVersion: number;
  /** The client lets the connection carry another request after this one. */
  readonly keepAlive: boolean;
  readonly remoteAddress: string | undefined;
  /** Null when the request has no body (no Content-Length above 0, no Transfer-Encoding). */
  readonly body: RequestBody | null;
  /** The whole request, body included, has been read. */
  complete = false;
  /** Its response ended before its body did: the rest of the body is read and dropped. */
  dumped = false;
  /** It asked for a 100 Continue before sending its body. */
  expectContinue = false;
  #headers: IncomingHttpHeaders | undefined;

  constructor(
    method: string,
    url: string,
    rawHeaders: string[],
    minorVersion: number,
    keepAlive: boolean,
    remoteAddress: string | undefined,
    body: RequestBody | null,
  ) {
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.minorVersion = minorVersion;
    this.keepAlive = keepAlive;
    this.remoteAddress = remoteAddress;
    this.body = body;
  }

  /** Headers by lower-case name, built on first use: repeats joined ("; " for Cookie), Host's first kept. */
  get headers(): IncomingHttpHeaders {
    this.#headers ??= headerMap(this.rawHeaders);
    return this.#headers;
  }

  /** Nobody will read the rest of the body: drop it as it arrives. */
  dump(): void {
    if (this.dumped || this.complete) return;
    this.dumped = true;
    this.body?.destroy();
  }
}
