/**
 * The node-http engine's upstream client: http.request over a keep-alive http.Agent, documented
 * APIs only. It keeps the fast client's contract (engine.ts's UpstreamHandler) and its limits: at
 * most `connections` requests at the upstream at once (the Agent never queues), then a bounded
 * queue with a bounded wait; connect, headers and body-idle timeouts, each its own
 * UpstreamErrorCode; a request body streamed only once connected, so that a refused connect
 * leaves it whole for a retry; and a reused keep-alive socket that closes before any answer
 * reported as UPSTREAM_CLOSED, which an exchange may repeat on a fresh one. A chunked answer's
 * trailer fields go to the exchange with onComplete, as on the fast engine.
 */

import { Agent, type ClientRequest, type IncomingMessage, request } from "node:http";
import type { Socket } from "node:net";
import type { UpstreamClient, UpstreamClientOptions, UpstreamHandler, UpstreamRequest } from "../engine.ts";
import { type UpstreamErrorCode, upstreamError } from "../upstream-errors.ts";
import { WaitQueue } from "../wait-queue.ts";

/** RFC 9112's reason-phrase: tabs, spaces, visible ASCII and obs-text (it goes back to the client as is). */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

type Pending = {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  aborted: boolean;
  /** Undoes whatever the request holds (its http.ClientRequest, its queue place). */
  cancel?: (err?: Error) => void;
  timer?: NodeJS.Timeout;
};

export class NodeHttpClient implements UpstreamClient {
  readonly #options: UpstreamClientOptions;
  readonly #agent: Agent;
  readonly #queue: WaitQueue<Pending>;
  #active = 0;
  #closing: (() => void) | undefined;
  #destroyed = false;
  readonly #inFlight = new Set<ClientRequest>();

  constructor(options: UpstreamClientOptions) {
    this.#options = options;
    this.#queue = new WaitQueue(options.maxQueue, options.queueTimeoutMs);
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: options.connections,
      maxFreeSockets: options.connections,
      // An idle pooled socket is closed after this long without traffic.
      timeout: options.keepAliveTimeoutMs,
      scheduling: "lifo",
    });
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.#destroyed || this.#closing) {
      handler.onError(upstreamError("UPSTREAM_DESTROYED", "the endpoint was closed"));
      return;
    }
    const pending: Pending = { request, handler, aborted: false };
    handler.onConnect((err?: Error) => {
      if (pending.aborted) return;
      pending.aborted = true;
      pending.cancel?.(err);
    });
    if (pending.aborted) return;
    if (this.#active < this.#options.connections) this.#send(pending);
    else this.#enqueue(pending);
  }

  close(): Promise<void> {
    if (this.#destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#closing = resolve;
      this.#settleClose();
    });
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#queue.failAll();
    const gone = upstreamError("UPSTREAM_DESTROYED", "the endpoint was closed");
    for (const req of this.#inFlight) req.destroy(gone);
    this.#agent.destroy();
    this.#closing?.();
  }

  #enqueue(pending: Pending): void {
    pending.cancel = () => this.#queue.remove(pending);
    this.#queue.add(pending);
  }

  /** A request is done with its connection: the next queued one may have it. */
  #done(): void {
    this.#active--;
    const next = this.#queue.shift();
    if (next !== undefined && !this.#destroyed) {
      this.#send(next);
      return;
    }
    this.#settleClose();
  }

  #settleClose(): void {
    if (this.#closing === undefined || this.#active > 0 || this.#queue.length > 0) return;
    this.#agent.destroy();
    this.#closing();
  }

  #send(pending: Pending): void {
    this.#active++;
    const { request: r, handler } = pending;
    const options = this.#options;
    let finished = false;
    /** What the upstream's silence would be, were its socket to go quiet now. */
    let stage: "connect" | "headers" | "body" = "connect";
    let gotResponse = false;
    let response: IncomingMessage | undefined;
    let bodyStarted = false;
    const headers = r.headers as string[];
    const req = request({
      agent: this.#agent,
      host: options.host,
      port: options.port,
      method: r.method,
      path: r.path,
      headers:
        Buffer.isBuffer(r.body) && !hasHeader(headers, "content-length")
          ? [...headers, "content-length", String(r.body.length)]
          : headers,
      // The request's own framing: a stream without a length goes chunked (node:http's default).
    });
    this.#inFlight.add(req);
    // The socket's idle timeout, as on the fast engine: any byte either way restarts it, so an
    // upload the upstream takes in slowly is not a headers timeout.
    const wait = (next: typeof stage, ms: number) => {
      stage = next;
      req.setTimeout(ms);
    };
    req.on("timeout", () => {
      const [code, message]: [UpstreamErrorCode, string] =
        stage === "connect"
          ? ["UPSTREAM_CONNECT_TIMEOUT", "connect timed out"]
          : stage === "headers"
            ? ["UPSTREAM_HEADERS_TIMEOUT", "headers timed out"]
            : ["UPSTREAM_BODY_TIMEOUT", "body timed out"];
      finish(upstreamError(code, message));
    });
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      this.#inFlight.delete(req);
      if (err !== undefined) {
        req.destroy();
        response?.destroy();
        if (!pending.aborted) {
          // A reused keep-alive socket closed before any answer: the request may be repeated.
          const code = (err as { code?: string }).code;
          const stale = req.reusedSocket && !gotResponse && code !== "UPSTREAM_HEADERS_TIMEOUT";
          handler.onError(stale ? upstreamError("UPSTREAM_CLOSED", err.message) : err);
        }
      }
      this.#done();
    };
    pending.cancel = (err) => {
      if (finished) return;
      finished = true;
      this.#inFlight.delete(req);
      req.destroy(err);
      response?.destroy();
      this.#done();
    };
    const startBody = () => {
      if (bodyStarted) return;
      bodyStarted = true;
      wait("headers", options.headersTimeoutMs);
      // A request body cut short by its client ends the request quietly (the exchange knows why).
      sendBody(req, r.body, handler, () => pending.cancel?.());
    };
    wait("connect", options.connectTimeoutMs);
    req.on("socket", (socket: Socket) => {
      if (socket.connecting) socket.once("connect", startBody);
      else startBody();
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // Bytes after a whole answer (the same read): the answer stands, its connection is gone.
      if (response?.complete) return;
      finish(translate(err));
    });
    req.on("information", () => {}); // 1xx: the final answer follows
    req.on("upgrade", (_res: IncomingMessage, socket: Socket) => {
      socket.destroy();
      finish(upstreamError("UPSTREAM_BAD_RESPONSE", "status 101 is not an answer"));
    });
    req.on("response", (res: IncomingMessage) => {
      if (finished) {
        res.destroy();
        return;
      }
      gotResponse = true;
      response = res;
      const statusCode = res.statusCode ?? 0;
      if (statusCode < 200) {
        finish(upstreamError("UPSTREAM_BAD_RESPONSE", `status ${statusCode} is not an answer`));
        return;
      }
      const statusText = res.statusMessage ?? "";
      if (!REASON_PHRASE.test(statusText)) {
        finish(upstreamError("UPSTREAM_BAD_RESPONSE", "invalid character in the status text"));
        return;
      }
      wait("body", options.bodyTimeoutMs);
      let paused = false;
      const resume = () => {
        if (finished || !paused) return;
        paused = false;
        res.resume();
        req.setTimeout(options.bodyTimeoutMs);
      };
      const pause = () => {
        if (paused) return;
        paused = true;
        res.pause();
        req.setTimeout(0); // a slow client is not a slow upstream
      };
      res.on("data", (chunk: Buffer) => {
        if (finished) return;
        try {
          if (!handler.onData(chunk)) pause();
        } catch (err) {
          finish(upstreamError("UPSTREAM_BAD_RESPONSE", String((err as Error)?.message ?? err)));
        }
      });
      res.on("end", () => {
        if (finished) return;
        finished = true;
        this.#inFlight.delete(req);
        // A chunked answer's trailer section, read by node:http as on the fast engine.
        const trailers = res.rawTrailers;
        if (!pending.aborted) handler.onComplete(trailers.length > 0 ? trailers : undefined);
        this.#done();
      });
      res.on("aborted", () => finish(upstreamError("UPSTREAM_CLOSED", "the upstream closed the connection")));
      res.on("error", (err) => finish(translate(err)));
      res.on("close", () => {
        if (!res.complete) finish(upstreamError("UPSTREAM_CLOSED", "the upstream closed the connection"));
      });
      try {
        if (!handler.onHeaders(statusCode, res.rawHeaders, resume, statusText)) pause();
      } catch (err) {
        finish(upstreamError("UPSTREAM_BAD_RESPONSE", String((err as Error)?.message ?? err)));
      }
    });
  }
}

/** Writes the request body (a whole Buffer, or a stream paced by the upstream socket) and ends the request. */
function sendBody(
  req: ClientRequest,
  body: UpstreamRequest["body"],
  handler: UpstreamHandler,
  aborted: () => void,
): void {
  if (body === null) {
    req.end();
    return;
  }
  if (Buffer.isBuffer(body)) {
    req.end(body);
    handler.onBodySent(body);
    return;
  }
  // The head goes now, as on the fast engine: the upstream sees the request before its body.
  req.flushHeaders();
  const onData = (chunk: Buffer) => {
    handler.onBodySent(chunk);
    if (!req.write(chunk)) body.pause();
  };
  const onDrain = () => body.resume();
  const onEnd = () => {
    cleanup();
    req.end();
  };
  const onAbort = () => {
    cleanup();
    if (!body.readableEnded) aborted();
  };
  const cleanup = () => {
    body.off("data", onData);
    body.off("end", onEnd);
    body.off("error", onAbort);
    body.off("close", onAbort);
    req.off("drain", onDrain);
  };
  body.on("data", onData);
  body.on("end", onEnd);
  body.on("error", onAbort);
  body.on("close", onAbort);
  req.on("drain", onDrain);
  body.resume();
}

/** node:http's socket errors, in teal's words where they have one (an errno or HPE_* code stays). */
function translate(err: NodeJS.ErrnoException): Error {
  // "socket hang up": the upstream closed the connection before its answer was complete.
  if (err.code === "ECONNRESET" && err.message === "socket hang up") {
    return upstreamError("UPSTREAM_CLOSED", "the upstream closed the connection");
  }
  return err;
}

function hasHeader(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return true;
  return false;
}
