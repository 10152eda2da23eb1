/** What teal answers to malformed or hostile client input, before it closes the connection. */

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
  ["ERR_HTTP_REQUEST_TIMEOUT", "request took too long"],
  ["TEAL_BODY_TIMEOUT", "request body took too long: it stalled"],
  ["TEAL_NO_HOST", "an HTTP/1.1 request needs a Host header"],
  ["TEAL_DUPLICATE_HOST", "a request may have only one Host header"],
  [
    "TEAL_INVALID_HOST",
    "the Host header must be host[:port]: a name of letters, digits, - . _ ~, an IPv4 address or a [bracketed] IPv6 address, and a port up to 65535",
  ],
  ["TEAL_CONNECT", "CONNECT is not supported: teal is a reverse proxy"],
  ["TEAL_PIPELINED_UPGRADE", "an Upgrade request may not be pipelined behind another request"],
  ["TEAL_EXPECTATION", "the only Expect teal supports is 100-continue"],
]);

const STATUSES = new Map([
  ["HPE_HEADER_OVERFLOW", "431 Request Header Fields Too Large"],
  ["ERR_HTTP_REQUEST_TIMEOUT", "408 Request Timeout"],
  ["TEAL_BODY_TIMEOUT", "408 Request Timeout"],
  ["TEAL_CONNECT", "405 Method Not Allowed"],
  ["TEAL_EXPECTATION", "417 Expectation Failed"],
]);

/** The whole response (head and a plain-text body naming the problem) for a client error code. */
export function clientErrorResponse(code: string): string {
  const status = STATUSES.get(code) ?? "400 Bad Request";
  const body = `${status}: ${DESCRIPTIONS.get(code) ?? "malformed HTTP request"}\n`;
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
