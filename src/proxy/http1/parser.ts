/**
 * Node's own C++ HTTP/1 parser (llhttp), the one node:http runs on, typed for teal's client
 * (upstream-pool.ts) and server (server.ts). It comes from Node's internal `_http_common`, which
 * is not a documented API: tested on Node 20 (see README "Known limits").
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

interface HttpParserClass {
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

export const { HTTPParser } = createRequire(import.meta.url)("_http_common") as {
  HTTPParser: HttpParserClass;
};

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
