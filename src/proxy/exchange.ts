/**
 * One proxied request: dispatches to an endpoint's upstream pool and streams the response
 * straight to the client with backpressure. A connection that fails before
 * any byte reached the upstream is retried once on another endpoint. A small body with a known
 * length is read whole first (as nginx buffers request bodies), so a client that sends it slowly
 * holds no upstream connection meanwhile. What can still hold one at a client's pace (a body
 * streamed as it arrives, a response the client has stopped reading) counts against the client
 * address's cap (ClientLimit); quick requests never do, however many one address sends.
 */

import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { Color } from "../domain/color.ts";
import { isSlab, recycle } from "./body-buffers.ts";
import type { ClientLimit } from "./client-limit.ts";
import type { Endpoint } from "./endpoint.ts";
import type {
  ProxyRequest as ClientRequest,
  ProxyResponse as ClientResponse,
  ResponseListener,
  UpstreamHandler,
  UpstreamRequest,
} from "./engine.ts";
import { countGarbageBytes } from "./gc-nudge.ts";
import { downstreamHeaders, downstreamTrailers } from "./headers.ts";
import { InFlight } from "./in-flight-list.ts";
import { type ProxyErrorCode, sendProxyError } from "./responses.ts";
import type { ServiceTarget } from "./service-target.ts";
import { classifyUpstreamError } from "./upstream-errors.ts";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export interface ExchangeEnv {
  readonly requestIdHeader: string;
  readonly accessLog: ((entry: AccessEntry) => void) | undefined;
  /** A body with a Content-Length up to this is read whole before an upstream is asked. */
  readonly requestBufferBytes: number;
  readonly clientLimit: ClientLimit;
  /** A bug in teal met while handling the request (logged by the data plane's owner). */
  readonly internalError: (err: unknown) => void;
}

/** What a client over its request cap is told to wait, in seconds. */
const CLIENT_LIMIT_RETRY_AFTER_S = 1;
/**
 * A response that waits this long on its client counts as slow (against the address's cap). Short,
 * since over the cap such a response holds an upstream connection for this long before it is cut;
 * a fast reader drains its socket far more often.
 */
const CLIENT_STALL_MS = 250;

export interface AccessEntry {
  readonly service: string;
  readonly color: Color;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly requestId: string;
  readonly upstream: string | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly error?: ProxyErrorCode;
  readonly retried?: boolean;
  /** "h2" for HTTP/2; left out: HTTP/1.x. */
  readonly protocol?: "h2" | undefined;
}

export class Exchange extends InFlight implements UpstreamHandler, ResponseListener {
  readonly #req: ClientRequest;
  readonly #res: ClientResponse;
  readonly #service: ServiceTarget;
  readonly #env: ExchangeEnv;
  #options: UpstreamRequest;
  readonly #requestId: string;
  /** The real client (behind trusted proxies, from X-Forwarded-For): what the request cap counts. */
  readonly #clientAddress: string;
  readonly #pinned: boolean;
  readonly #start = performance.now();
  #color: Color;
  #endpoint: Endpoint | undefined;
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #retried = false;
  #done = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #status = 0;
  #error: ProxyErrorCode | undefined;
  /** Set once this request counts against its client address's cap ("" when the address is exempt). */
  #clientKey: string | undefined;
  /** Runs out when the client has not drained the response for CLIENT_STALL_MS. */
  #stalled: NodeJS.Timeout | undefined;

  constructor(
    req: ClientRequest,
    res: ClientResponse,
    service: ServiceTarget,
    color: Color,
    pinned: boolean,
    options: UpstreamRequest,
    requestId: string,
    clientAddress: string,
    env: ExchangeEnv,
  ) {
    super();
    this.#req = req;
    this.#res = res;
    this.#service = service;
    this.#color = color;
    this.#pinned = pinned;
    this.#options = options;
    this.#requestId = requestId;
    this.#clientAddress = clientAddress;
    this.#env = env;
    res.listener = this;
  }

  start(): void {
    this.#service.track(this.#color, this);
    // Nowhere to send it: answered at once, without waiting for a body.
    if (this.#service.groups[this.#color].size === 0) {
      this.#fail(503, "no_endpoints", `service ${this.#service.name} has no ${this.#color} endpoints`);
      return;
    }
    const body = this.#options.body;
    if (body !== null && !Buffer.isBuffer(body) && this.#fitsBuffer()) {
      readWhole(body, (whole) => {
        if (this.#done) return;
        this.#options = { ...this.#options, body: whole };
        // From a stream event, outside the data plane's guard: a bug fails this request, not teal.
        try {
          this.#forward();
        } catch (err) {
          this.#env.internalError(err);
          this.#fail(502, "internal_error", "teal failed to handle this request; see its log");
        }
      });
      return;
    }
    this.#forward();
  }

  #fitsBuffer(): boolean {
    const length = this.#req.headers["content-length"];
    return length !== undefined && Number(length) <= this.#env.requestBufferBytes;
  }

  #forward(): void {
    // A body streamed as it arrives holds the upstream connection at the client's pace.
    const body = this.#options.body;
    if (body !== null && !Buffer.isBuffer(body) && !this.#holdsAtClientPace()) {
      this.#fail(
        429,
        "client_request_limit",
        "this client address has too many slow requests in progress; try again shortly",
        CLIENT_LIMIT_RETRY_AFTER_S,
      );
      return;
    }
    const endpoint = this.#service.groups[this.#color].pick(Date.now());
    if (endpoint === undefined) {
      this.#fail(503, "no_endpoints", `service ${this.#service.name} has no ${this.#color} endpoints`);
      return;
    }
    this.#dispatch(endpoint);
  }

  forceClose(): void {
    if (this.#done) return;
    this.#fail(502, "drain_deadline", "the old version was stopped at its drain deadline");
    this.#abort?.(new Error("drain deadline passed"));
    this.#res.destroy();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#done) abort();
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    if (this.#done) return false;
    this.#status = statusCode;
    this.#resume = resume;
    this.#endpoint!.markSuccess();
    const headers = downstreamHeaders(rawHeaders, this.#env.requestIdHeader, this.#requestId);
    this.#res.writeHead(statusCode, statusText || undefined, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#done) return false;
    this.#bytesOut += chunk.length;
    // A recycled slab goes back once the client's socket is done with it, and leaves no garbage.
    const slab = isSlab(chunk);
    if (!slab) countGarbageBytes(chunk.length);
    if (this.#res.write(chunk, slab ? () => recycle(chunk) : undefined)) return true;
    // Backpressure alone is no sign of a slow client (any large response fills the socket's
    // buffers): one that has not drained for CLIENT_STALL_MS is holding the upstream at its pace.
    if (this.#clientKey === undefined) {
      this.#stalled ??= setTimeout(() => this.#stalledClient(), CLIENT_STALL_MS).unref();
    }
    return false;
  }

  #stalledClient(): void {
    this.#stalled = undefined;
    if (this.#done || this.#holdsAtClientPace()) return;
    // The head went out already: the client sees its connection cut, the log its status.
    this.#error = "client_request_limit";
    this.#abort?.(new Error("the client address has too many slow requests"));
    this.#res.destroy();
    this.#finish(this.#status);
  }

  /**
   * Counts this request against its client address's cap, once; false when the address is at it.
   * Only what can hold an upstream connection at a client's pace is counted: quick requests never.
   */
  #holdsAtClientPace(): boolean {
    if (this.#clientKey !== undefined) return true;
    const key = this.#env.clientLimit.acquire(this.#clientAddress);
    if (key === false) return false;
    this.#clientKey = key ?? "";
    return true;
  }

  onBodySent(chunk: Buffer | string): void {
    const n = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    this.#bytesIn += n;
    countGarbageBytes(n);
  }

  onComplete(trailers?: readonly string[]): void {
    if (this.#done) return;
    this.#res.end(undefined, trailers === undefined ? undefined : downstreamTrailers(trailers));
    this.#finish(this.#status);
  }

  onError(err: Error): void {
    if (this.#done) return;
    const failure = classifyUpstreamError(err);
    if (this.#status !== 0) {
      // The head still waits for the first body bytes: the client gets a proper error instead.
      if (this.#res.discardHead()) {
        const message = `the upstream failed before its response's body: ${failure.message}`;
        this.#fail(
          failure.status,
          failure.code,
          `${message} (service ${this.#service.name}, ${this.#color})`,
        );
        return;
      }
      // Headers already went out: all we can do is cut the client connection.
      this.#error = failure.code;
      this.#res.destroy();
      this.#finish(this.#status);
      return;
    }
    if (failure.endpointDown) this.#endpoint!.markFailure(Date.now());
    const next =
      failure.retryable && this.#canRetry(failure.staleSocket)
        ? this.#retryTarget(failure.staleSocket)
        : undefined;
    if (next) {
      this.#retried = true;
      this.#dispatch(next);
      return;
    }
    this.#fail(
      failure.status,
      failure.code,
      `${failure.message} (service ${this.#service.name}, ${this.#color})`,
      failure.retryAfterS,
    );
  }

  #dispatch(endpoint: Endpoint): void {
    this.#endpoint = endpoint;
    this.#abort = undefined;
    // A buffered body is sent (and counted) whole by each attempt.
    if (Buffer.isBuffer(this.#options.body)) this.#bytesIn = 0;
    endpoint.pool.dispatch(this.#options, this);
  }

  #canRetry(staleSocket: boolean): boolean {
    if (this.#retried) return false;
    // A dropped keep-alive socket may have delivered the request: only repeat what is idempotent.
    if (staleSocket && !IDEMPOTENT.has(this.#req.method)) return false;
    const body = this.#options.body;
    if (body === null || Buffer.isBuffer(body)) return true; // a buffered body can be sent again
    return !(body.readableDidRead || this.#bytesIn > 0);
  }

  /** Another endpoint of the same color; the same one for a stale keep-alive socket; else the live color. */
  #retryTarget(staleSocket: boolean): Endpoint | undefined {
    const failed = this.#endpoint!;
    const now = Date.now();
    const other = this.#service.groups[this.#color].pick(now, failed);
    if (other !== undefined && other !== failed && other.isAvailable(now)) return other;
    if (staleSocket) return failed;
    const live = this.#service.routing.live;
    if (this.#pinned || live === this.#color) return undefined;
    const fallback = this.#service.groups[live].pick(now);
    if (fallback !== undefined) this.#moveTo(live);
    return fallback;
  }

  #moveTo(color: Color): void {
    this.#service.settle(this.#color, this);
    this.#color = color;
    this.#service.track(color, this);
  }

  #fail(status: number, code: ProxyErrorCode, message: string, retryAfterS?: number): void {
    this.#error = code;
    const headers: Record<string, string> = { [this.#env.requestIdHeader]: this.#requestId };
    if (retryAfterS !== undefined) headers["retry-after"] = String(retryAfterS);
    sendProxyError(this.#res, status, code, message, headers);
    this.#finish(status);
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#stalled !== undefined) clearTimeout(this.#stalled);
    if (this.#clientKey) this.#env.clientLimit.release(this.#clientKey);
    if (this.#res.listener === this) this.#res.listener = undefined;
    const ms = performance.now() - this.#start;
    this.#service.stats[this.#color].record(status, ms, this.#bytesIn, this.#bytesOut);
    this.#service.settle(this.#color, this);
    this.#env.accessLog?.({
      service: this.#service.name,
      color: this.#color,
      method: this.#req.method,
      path: this.#req.url,
      status,
      ms: Math.round(ms * 1000) / 1000,
      requestId: this.#requestId,
      upstream: this.#endpoint?.url,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      // One shape for every entry (undefined is left out of the line), unlike spreads per request.
      error: this.#error,
      retried: this.#retried ? true : undefined,
      protocol: this.#req.protocol,
    });
  }

  /** The client's socket drained: let the upstream connection read again. */
  clientDrained(): void {
    if (this.#stalled !== undefined) {
      clearTimeout(this.#stalled);
      this.#stalled = undefined;
    }
    this.#resume?.();
  }

  /** The client connection closed: if the response was not complete, log 499 and stop upstream. */
  clientClosed(): void {
    if (this.#done || this.#res.writableFinished) return;
    this.#finish(499);
    this.#abort?.(new Error("client closed the request"));
  }
}

/** Reads a (small) body to its end; nothing is called if it ends otherwise (the client is gone). */
function readWhole(body: Readable, done: (whole: Buffer) => void): void {
  const chunks: Buffer[] = [];
  body.on("data", (chunk: Buffer) => chunks.push(chunk));
  body.once("end", () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
}
