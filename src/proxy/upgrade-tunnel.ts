/**
 * WebSocket and other Upgrade requests: teal connects to the endpoint, replays the request head
 * and then pipes bytes both ways, so the upstream's 101 and every frame pass through untouched.
 */

import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Color } from "../domain/color.ts";
import type { Endpoint } from "./endpoint.ts";
import { InFlight } from "./in-flight-list.ts";
import type { ServiceTarget } from "./service-target.ts";

export class UpgradeTunnel extends InFlight {
  readonly #client: Duplex;
  readonly #service: ServiceTarget;
  readonly #color: Color;
  readonly #head: Buffer;
  readonly #timeouts: { readonly connectMs: number; readonly headersMs: number };
  #upstream: Socket | undefined;
  #connected = false;
  #answered = false;
  #retried = false;
  #done = false;

  constructor(
    client: Duplex,
    service: ServiceTarget,
    color: Color,
    head: Buffer,
    timeouts: { readonly connectMs: number; readonly headersMs: number },
  ) {
    super();
    this.#client = client;
    this.#service = service;
    this.#color = color;
    this.#head = head;
    this.#timeouts = timeouts;
    client.on("error", () => this.#close());
    client.on("close", () => this.#close());
  }

  /** `requestHead` is the request line and headers, ready to send, ending with an empty line. */
  start(requestHead: string): void {
    this.#service.track(this.#color, this);
    const endpoint = this.#service.groups[this.#color].pick(Date.now());
    if (endpoint) this.#connect(endpoint, requestHead);
    else this.#reject(503, `service ${this.#service.name} has no ${this.#color} endpoints`);
  }

  forceClose(): void {
    this.#close();
  }

  #connect(endpoint: Endpoint, requestHead: string): void {
    const upstream = connect({ host: endpoint.host, port: endpoint.port });
    this.#upstream = upstream;
    upstream.setNoDelay(true);
    upstream.setTimeout(this.#timeouts.connectMs, () => {
      if (!this.#connected)
        upstream.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    });
    upstream.once("connect", () => {
      this.#connected = true;
      // Until the upstream answers the handshake, the headers timeout applies; then none.
      upstream.setTimeout(this.#timeouts.headersMs, () => {
        upstream.destroy();
        this.#reject(504, "the upstream did not answer the upgrade in time");
      });
      upstream.once("data", () => {
        this.#answered = true;
        upstream.setTimeout(0);
      });
      endpoint.markSuccess();
      upstream.write(requestHead);
      if (this.#head.length > 0) upstream.write(this.#head);
      upstream.pipe(this.#client);
      this.#client.pipe(upstream);
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      if (this.#connected || this.#done) return this.#close();
      endpoint.markFailure(Date.now());
      const next = this.#service.groups[this.#color].pick(Date.now(), endpoint);
      if (!this.#retried && next && next !== endpoint) {
        this.#retried = true;
        return this.#connect(next, requestHead);
      }
      this.#reject(
        err.code === "ETIMEDOUT" ? 504 : 502,
        `could not connect to the upstream (${err.code ?? err.message})`,
      );
    });
    upstream.on("close", () => {
      if (this.#connected) this.#close();
    });
  }

  #reject(status: number, message: string): void {
    const reason =
      status === 503 ? "Service Unavailable" : status === 504 ? "Gateway Timeout" : "Bad Gateway";
    const body = `${status} ${reason}: ${message}\n`;
    if (this.#client.writable) {
      this.#client.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    this.#finish(status);
  }

  #close(): void {
    this.#upstream?.destroy();
    // After a rejection the client socket is already ending with our answer: let it flush.
    if (!this.#done) this.#client.destroy();
    this.#finish(101);
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#service.stats[this.#color].record(this.#answered ? 101 : status, 0, 0, 0);
    this.#service.settle(this.#color, this);
  }
}

/** Serializes a request line and header list for the raw upstream connection. */
export function requestHead(method: string, path: string, headers: readonly string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
