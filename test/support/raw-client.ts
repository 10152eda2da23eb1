/** Raw HTTP/1.1 over node:net, for requests no well-behaved client library would send. */

import { once } from "node:events";
import { connect } from "node:net";

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body is all there (by Content-Length or the last chunk); false for a close-delimited body. */
  readonly complete: boolean;
}

/**
 * Connects to 127.0.0.1:`port`, writes `request` and reads until one whole response has arrived
 * or the server closes the connection. Resolves with that response, or undefined when the server
 * closed without answering.
 */
export async function sendRaw(port: number, request: string | Buffer): Promise<RawResponse | undefined> {
  const socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    if (parseResponse(Buffer.concat(chunks))?.complete) socket.destroy();
  });
  // The server may reset the connection after answering; what it sent before is still the answer.
  socket.on("error", () => {});
  const closed = new Promise((resolve) => socket.once("close", resolve));
  await once(socket, "connect");
  socket.write(request);
  await closed;
  return parseResponse(Buffer.concat(chunks));
}

/** Parses one HTTP/1.1 response (Content-Length, chunked or close-delimited body). */
export function parseResponse(raw: Buffer): RawResponse | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  let complete = false;
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    complete = body.length >= length;
    body = body.subarray(0, length);
  } else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
    ({ body, complete } = dechunk(body));
  }
  return { status, headers, body: body.toString("utf8"), complete };
}

/** Joins the chunks of a chunked body; `complete` once the last (zero-size) chunk has arrived. */
function dechunk(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: data.includes("\r\n\r\n", lineEnd) };
    if (!(size > 0) || data.length < lineEnd + 2 + size)
      return { body: Buffer.concat(parts), complete: false };
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
