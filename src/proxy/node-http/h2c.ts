/**
 * h2c by prior knowledge (RFC 9113 section 3.3) on a plain listener, beside HTTP/1.1: the first
 * bytes of each connection are read; a connection that starts with the HTTP/2 connection preface
 * goes to a node:http2 server, any other to node:http's, with the bytes read put back in front.
 * node:http2 reads what is already buffered on a socket it is handed (Node's http2 core does, since
 * issues 34532 and 35475), and node:http reads the socket as a stream, so neither loses a byte.
 *
 * Only prior knowledge: the `Upgrade: h2c` dance from HTTP/1.1 (removed from RFC 9113) is not
 * offered; browsers speak neither.
 */

import type { Server as HttpServer } from "node:http";
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Routes each connection `server` accepts by its first bytes: the HTTP/2 preface to `h2`, the
 * rest to `server`'s own handler. A connection that sends too few bytes to tell within
 * `firstBytesMs` (the request-head timeout) is closed. Call before anything else listens for
 * `server`'s connections.
 */
export function serveH2c(server: HttpServer, h2: Http2Server, firstBytesMs: number): void {
  const handlers = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", function (this: HttpServer, socket: Socket) {
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), firstBytesMs).unref();
    const fail = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const decide = (): void => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        seen = Buffer.concat([seen, chunk]);
      }
      const n = Math.min(seen.length, PREFACE.length);
      const isPreface = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      // Not decided yet: the preface so far, and fewer bytes than it has.
      if (isPreface && seen.length < PREFACE.length && !socket.readableEnded) return;
      clearTimeout(timer);
      socket.off("readable", decide);
      socket.off("end", decide);
      socket.off("error", fail);
      if (seen.length > 0) socket.unshift(seen);
      if (isPreface && seen.length >= PREFACE.length) h2.emit("connection", socket);
      else for (const handler of handlers) handler.call(this, socket);
    };
    socket.on("readable", decide);
    socket.on("end", decide);
    socket.on("error", fail);
  });
}
