/** Raw HTTP/1.1 over node:net, for requests no well-behaved client library would send. */

import { once } from "node:events";
import { connect } from "node:net";

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Connects to 127.0.0.1:`port`, writes `request` and reads until the server closes the
 * connection, so a well-formed request must say `Connection: close`. Resolves with the first
 * response, or undefined when the server closed without answering.
 */
export async function sendRaw(port: number, request: string | Buffer): Promise<RawResponse | undefined> {
  const socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  // The server may reset the connection after answering; what it sent before is still the answer.
  socket.on("error", () => {});
  const closed = once(socket, "close");
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
  if (headers["content-length"] !== undefined) body = body.subarray(0, Number(headers["content-length"]));
  else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = dechunk(body);
  return { status, headers, body: body.toString("utf8") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
