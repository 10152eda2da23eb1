/**
 * A response on teal's HTTP/1 server. The head waits for the first body bytes so that a small
 * response leaves in one write; a body without a length is sent chunked (HTTP/1.1) or ends with
 * the connection (HTTP/1.0). HEAD, 204 and 304 answers carry no body. A chunked body ends with the
 * upstream's trailer fields when the client asked for them (TE: trailers).
 */

import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { ProxyResponse, ResponseListener } from "../engine.ts";
import { acceptsTrailers } from "../headers.ts";
import type { ClientRequest } from "./request.ts";

/** What a response needs from its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** The connection may carry another request after this response. */
  mayKeepAlive(req: ClientRequest): boolean;
  /** The connection will close after this response (whose body, maybe, ends with it). */
  closeAfterResponse(bodyEndsWithClose: boolean): void;
  /** `keep-alive: timeout=N` for clients to know how long an idle connection lives. */
  readonly keepAliveHeader: string;
  responseEnded(res: ClientResponse): void;
  destroy(): void;
}

/** A body that fits this is sent in the same write as the head (as one string). */
const JOIN_LIMIT = 16 * 1024;

export class ClientResponse implements ProxyResponse {
  readonly req: ClientRequest;
  listener: ResponseListener | undefined;
  /** writeHead was called (the head may still wait for the body). */
  headersSent = false;
  /** end() was called. */
  writableFinished = false;
  destroyed = false;
  readonly #owner: ResponseOwner;
  #extra: string[] | undefined;
  #head: string | undefined;
  #chunked = false;
  #bodyless = false;

  constructor(owner: ResponseOwner, req: ClientRequest) {
    this.#owner = owner;
    this.req = req;
  }

  /** A header teal adds to whatever head is written (its sticky cookie). */
  addHeader(name: string, value: string): void {
    if (this.#extra === undefined) this.#extra = [name, value];
    else this.#extra.push(name, value);
  }

  /** `headers` as flat name, value pairs; their values must already be valid (llhttp parsed them). */
  writeHead(status: number, statusText: string | undefined, headers: readonly string[]): void {
    if (this.headersSent || this.destroyed) return;
    this.headersSent = true;
    const req = this.req;
    this.#bodyless = req.method === "HEAD" || status === 204 || status === 304 || status < 200;
    let head = `HTTP/1.1 ${status} ${statusText ?? STATUS_CODES[status] ?? "Unknown"}\r\n`;
    let hasLength = false;
    let hasDate = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length === 14 && name.toLowerCase() === "content-length") hasLength = true;
      else if (name.length === 4 && name.toLowerCase() === "date") hasDate = true;
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    const extra = this.#extra;
    if (extra !== undefined)
      for (let i = 0; i < extra.length; i += 2) head += `${extra[i]}: ${extra[i + 1]}\r\n`;
    if (!hasDate) head += `date: ${httpDate()}\r\n`;
    const keepAlive = this.#owner.mayKeepAlive(req);
    let endsWithClose = false;
    if (!hasLength && !this.#bodyless) {
      if (req.minorVersion >= 1) {
        this.#chunked = true;
        head += "transfer-encoding: chunked\r\n";
      } else endsWithClose = true; // an HTTP/1.0 client reads to the end of the connection
    }
    if (!keepAlive || endsWithClose) {
      this.#owner.closeAfterResponse(endsWithClose);
      head += "connection: close\r\n";
    } else if (req.minorVersion === 0) head += `connection: keep-alive\r\n${this.#owner.keepAliveHeader}`;
    else head += this.#owner.keepAliveHeader;
    this.#head = `${head}\r\n`;
  }

  /**
   * Returns false when the client is not keeping up: wait for the listener's clientDrained. A write
   * the kernel took whole counts as keeping up, however large (no pause and resume per chunk).
   * `written` runs once the socket is done with the chunk's bytes (sent, or dropped).
   */
  write(chunk: Buffer, written?: () => void): boolean {
    if (this.writableFinished || this.destroyed || this.#bodyless || chunk.length === 0) {
      written?.();
      return true;
    }
    const socket = this.#owner.socket;
    const head = this.#head;
    let ok: boolean;
    if (head === undefined) ok = this.#writeBody(socket, chunk, written);
    else {
      this.#head = undefined;
      if (chunk.length <= JOIN_LIMIT) {
        const body = chunk.toString("latin1");
        const framed = this.#chunked ? `${chunk.length.toString(16)}\r\n${body}\r\n` : body;
        ok = socket.write(head + framed, "latin1");
        written?.();
      } else {
        // Head and body leave in one writev.
        socket.cork();
        socket.write(head, "latin1");
        ok = this.#writeBody(socket, chunk, written);
        socket.uncork();
      }
    }
    return ok || socket.writableLength === 0;
  }

  end(chunk?: Buffer, trailers?: readonly string[]): void {
    if (this.writableFinished || this.destroyed) return;
    if (chunk !== undefined) this.write(chunk);
    this.writableFinished = true;
    let tail = this.#head ?? "";
    this.#head = undefined;
    if (this.#chunked) {
      tail +=
        trailers !== undefined && acceptsTrailers(this.req.headers.te) ? lastChunk(trailers) : "0\r\n\r\n";
    }
    if (tail !== "") this.#owner.socket.write(tail, "latin1");
    this.#owner.responseEnded(this);
  }

  /**
   * Takes back a head that still waits for the first body bytes (nothing of it was sent), so that
   * another answer can take its place. False once any of the response went out.
   */
  discardHead(): boolean {
    if (this.#head === undefined || this.destroyed) return false;
    this.#head = undefined;
    this.headersSent = false;
    this.#chunked = false;
    this.#bodyless = false;
    return true;
  }

  /** Cuts the client's connection (a response that cannot be finished properly). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#owner.destroy();
  }

  #writeBody(socket: Socket, chunk: Buffer, written: (() => void) | undefined): boolean {
    if (!this.#chunked) return socket.write(chunk, written);
    socket.cork();
    socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    socket.write(chunk, written);
    const ok = socket.write("\r\n", "latin1");
    socket.uncork();
    return ok;
  }
}

/** The last chunk with a trailer section (the fields were checked by the upstream client's parser). */
function lastChunk(trailers: readonly string[]): string {
  let text = "0\r\n";
  for (let i = 0; i < trailers.length; i += 2) text += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

let dateSecond = -1;
let dateText = "";

/** The Date header's value, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
