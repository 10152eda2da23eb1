/**
 * Node's own C++ HTTP/1 parser (llhttp), the one node:http runs on, for teal's client
 * (client.ts) and server (connection.ts). It comes from Node's internal `_http_common`,
 * which is not a documented API: self-check.ts checks its shape before the fast engine is used
 * (see README "Proxy engines").
 *
 * newParser wires it to a ParserListener: it joins a long head's parts, hands a chunked
 * message's trailer section to messageComplete, and keeps a throw in the listener from escaping
 * into Node's C++ read loop (which would end the process).
 */

import { createRequire } from "node:module";

export interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  /** Reads straight from a socket's handle in C++; kOnExecute reports each read. */
  consume(handle: object): void;
  unconsume(): void;
  /** The buffer of the read being executed (what follows an upgrade request's head). */
  getCurrentBuffer(): Buffer;
  /** Deletes the C++ parser (and its hold on this object). */
  close(): void;
  [callback: number]: unknown;
}

export interface HttpParserClass {
  new (): HttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
}

/** Node's parser, or undefined on a Node without `_http_common` (the self-check then refuses it). */
export const NODE_PARSER: HttpParserClass | undefined = loadNodeParser();

function loadNodeParser(): HttpParserClass | undefined {
  try {
    return (createRequire(import.meta.url)("_http_common") as { HTTPParser?: HttpParserClass }).HTTPParser;
  } catch {
    return undefined;
  }
}

/** The parser the fast engine runs on: used only once the self-check has passed it. */
export const HTTPParser = NODE_PARSER as HttpParserClass;

/** llhttp's method numbers, in its order (Node keeps the same list internally as allMethods). */
export const METHODS: readonly string[] = [
  "DELETE",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "COPY",
  "LOCK",
  "MKCOL",
  "MOVE",
  "PROPFIND",
  "PROPPATCH",
  "SEARCH",
  "UNLOCK",
  "BIND",
  "REBIND",
  "UNBIND",
  "ACL",
  "REPORT",
  "MKACTIVITY",
  "CHECKOUT",
  "MERGE",
  "M-SEARCH",
  "NOTIFY",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "PATCH",
  "PURGE",
  "MKCALENDAR",
  "LINK",
  "UNLINK",
  "SOURCE",
  "PRI",
  "DESCRIBE",
  "ANNOUNCE",
  "SETUP",
  "PLAY",
  "PAUSE",
  "TEARDOWN",
  "GET_PARAMETER",
  "SET_PARAMETER",
  "REDIRECT",
  "RECORD",
  "FLUSH",
  "QUERY",
];

/**
 * Lets go of a parser for good: stops it reading its socket and deletes it once the stack has
 * unwound (it may be releasing from inside its own callback), as node:http does with a parser it
 * does not keep. Without close() the C++ parser holds on to its object for ever.
 */
export function releaseParser(parser: HttpParser, consuming: boolean): void {
  if (consuming) parser.unconsume();
  setImmediate(closeParser, parser);
}

function closeParser(parser: HttpParser): void {
  parser.close();
}

/** What a parser tells the connection it reads for. */
export interface ParserListener {
  messageBegin(): void;
  /** A whole message head; `headers` as flat name, value pairs. A request has method and url, a response status. */
  headersComplete(
    headers: string[],
    minor: number,
    method: number,
    url: string,
    status: number,
    statusText: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number;
  body(chunk: Buffer): void;
  /**
   * The message ended; `trailers` (flat name, value pairs, checked by llhttp and bounded by the
   * parser's header size) when a chunked body had a trailer section.
   */
  messageComplete(trailers: string[] | undefined): void;
  /** The parser has run through one read of the socket it consumes (its callbacks came first). */
  executed(ret: number | Error): void;
  /** One of the above threw: the listener gives up its connection, the process goes on. */
  threw(err: unknown): void;
}

/** A parser with its listener (cleared when the connection lets go) and a long head's early parts. */
export type ListenedParser = HttpParser & {
  listener: ParserListener | undefined;
  moreHeaders: string[] | undefined;
  moreUrl: string;
};

export function newParser(
  type: number,
  maxHeaderSize: number,
  listener: ParserListener,
  Parser: HttpParserClass = HTTPParser,
): ListenedParser {
  const parser = new Parser() as ListenedParser;
  parser.initialize(type, {}, maxHeaderSize, 0);
  parser.listener = listener;
  parser.moreHeaders = undefined;
  parser.moreUrl = "";
  parser[Parser.kOnMessageBegin] = onMessageBegin;
  parser[Parser.kOnHeaders] = onHeaders;
  parser[Parser.kOnHeadersComplete] = onHeadersComplete;
  parser[Parser.kOnBody] = onBody;
  parser[Parser.kOnMessageComplete] = onMessageComplete;
  parser[Parser.kOnExecute] = onExecute;
  return parser;
}

// The callbacks: `this` is the parser. Shared functions, so that no closure is made per parser.

function onMessageBegin(this: ListenedParser): void {
  this.moreHeaders = undefined;
  this.moreUrl = "";
  const listener = this.listener;
  try {
    listener?.messageBegin();
  } catch (err) {
    listener?.threw(err);
  }
}

/**
 * A long head comes in parts: headers (and a request's URL) before the head is complete; a trailer
 * section too, before the message completes. Appended in place: a section of thousands of short
 * fields comes in hundreds of parts, which copying would make quadratic.
 */
function onHeaders(this: ListenedParser, headers: string[], url: string | undefined): void {
  const more = this.moreHeaders;
  if (more === undefined) this.moreHeaders = headers;
  else for (let i = 0; i < headers.length; i++) more.push(headers[i]!);
  if (url !== undefined) this.moreUrl += url;
}

function onHeadersComplete(
  this: ListenedParser,
  _major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  status: number,
  statusText: string,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const more = this.moreHeaders;
  const all = more === undefined ? (headers ?? []) : headers === undefined ? more : more.concat(headers);
  const target = url === undefined ? this.moreUrl : this.moreUrl + url;
  this.moreHeaders = undefined;
  this.moreUrl = "";
  const listener = this.listener;
  if (listener === undefined) return 0;
  try {
    return listener.headersComplete(all, minor, method, target, status, statusText, upgrade, keepAlive);
  } catch (err) {
    listener.threw(err);
    return 0;
  }
}

function onBody(this: ListenedParser, chunk: Buffer): void {
  const listener = this.listener;
  try {
    listener?.body(chunk);
  } catch (err) {
    listener?.threw(err);
  }
}

function onMessageComplete(this: ListenedParser): void {
  // Node's parser reports a trailer section through kOnHeaders (in parts of up to 32 fields), just
  // before the message completes: they go to the listener, never into the next message's head.
  const trailers = this.moreHeaders;
  this.moreHeaders = undefined;
  this.moreUrl = "";
  const listener = this.listener;
  try {
    listener?.messageComplete(trailers);
  } catch (err) {
    listener?.threw(err);
  }
}

function onExecute(this: ListenedParser, ret: number | Error): void {
  const listener = this.listener;
  try {
    listener?.executed(ret);
  } catch (err) {
    listener?.threw(err);
  }
}
