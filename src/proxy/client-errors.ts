/** Malformed or hostile client input: answer 400/408/431 and close, never crash. */

import type { Duplex } from "node:stream";

export function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  report?: (code: string, message: string) => void,
): void {
  const code = err.code ?? "UNKNOWN";
  if (code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = "400 Bad Request";
  if (code === "HPE_HEADER_OVERFLOW") status = "431 Request Header Fields Too Large";
  else if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "HPE_HEADERS_TIMEOUT")
    status = "408 Request Timeout";
  const body = `${status}: ${describe(code)}\n`;
  report?.(code, err.message);
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function describe(code: string): string {
  if (code === "HPE_HEADER_OVERFLOW") return "request headers are too large";
  if (code === "HPE_UNEXPECTED_CONTENT_LENGTH") return "conflicting Content-Length and Transfer-Encoding";
  if (code.startsWith("ERR_HTTP_REQUEST_TIMEOUT") || code === "HPE_HEADERS_TIMEOUT")
    return "request took too long";
  return "malformed HTTP request";
}
