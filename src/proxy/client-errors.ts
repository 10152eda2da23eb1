/** Malformed or hostile client input: answer 400/408/431 and close, never crash. */

import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Connections already being answered: the parser reports the same error for every later chunk. */
const answering = new WeakSet<Duplex>();

export function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Duplex,
  report?: (code: string, message: string) => void,
): void {
  const code = err.code ?? "UNKNOWN";
  if (answering.has(socket)) return;
  if (code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  answering.add(socket);
  report?.(code, err.message);
  // A response still in progress on this connection (Node's own default handler reads the same
  // field). Behind a complete request, the bad input is a pipelined request: answering now would
  // land before or inside that response, so answer after it. Inside an unfinished request (a cut
  // or malformed body), answer now unless the response has started, in which case just cut.
  const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inProgress && !inProgress.writableFinished) {
    if (inProgress.req.complete) {
      inProgress.once("close", () => {
        if (inProgress.writableFinished && socket.writable) answer(socket, code);
        else socket.destroy();
      });
      return;
    }
    if (inProgress.headersSent) {
      socket.destroy();
      return;
    }
  }
  answer(socket, code);
}

function answer(socket: Duplex, code: string): void {
  let status = "400 Bad Request";
  if (code === "HPE_HEADER_OVERFLOW") status = "431 Request Header Fields Too Large";
  else if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "HPE_HEADERS_TIMEOUT")
    status = "408 Request Timeout";
  const body = `${status}: ${describe(code)}\n`;
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

// llhttp's codes for framing conflicts: Content-Length then Transfer-Encoding is
// INVALID_TRANSFER_ENCODING, the reverse order INVALID_CONTENT_LENGTH, two Content-Lengths UNEXPECTED.
const DESCRIPTIONS = new Map([
  ["HPE_HEADER_OVERFLOW", "request headers are too large"],
  ["HPE_UNEXPECTED_CONTENT_LENGTH", "more than one Content-Length"],
  ["HPE_INVALID_CONTENT_LENGTH", "invalid Content-Length, or Content-Length with Transfer-Encoding"],
  ["HPE_INVALID_TRANSFER_ENCODING", "invalid Transfer-Encoding, or Transfer-Encoding with Content-Length"],
  ["HPE_INVALID_HEADER_TOKEN", "invalid character in a header"],
  ["HPE_LF_EXPECTED", "invalid character in a header"],
  ["HPE_CR_EXPECTED", "invalid character in a header"],
  ["HPE_HEADERS_TIMEOUT", "request took too long"],
]);

function describe(code: string): string {
  if (code.startsWith("ERR_HTTP_REQUEST_TIMEOUT")) return "request took too long";
  return DESCRIPTIONS.get(code) ?? "malformed HTTP request";
}
