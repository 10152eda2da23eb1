/**
 * The fast engine's guard. Node's internal parser is not a documented API: a Node release may
 * rename its callbacks, change their arguments or drop the module. Before the proxy listens, one
 * request and one response are parsed through it, wired as connection.ts and client.ts wire it,
 * and every part teal reads (method, target, headers, status, body, a chunked body's trailers,
 * message end, what execute returns, the methods it calls) is compared with what it must be. A mismatch is reported, never
 * run: a parser that misreads a head would misroute requests or split responses.
 */

import { type HttpParserClass, METHODS, newParser, type ParserListener } from "./parser.ts";

const REQUEST = "POST /check?x=1 HTTP/1.1\r\nHost: teal.test\r\nX-Two: a\r\nContent-Length: 3\r\n\r\nabc";
const RESPONSE = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-Teal: yes\r\n\r\nok";
const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 7\r\n\r\n";

/** What one message looked like to the listener. */
interface Seen {
  began: number;
  head?: { headers: string[]; method: string | undefined; url: string; status: number; statusText: string };
  body: string;
  complete: number;
  trailers?: string[] | undefined;
  threw?: unknown;
}

/** Why the parser cannot be used, or undefined when it parses as teal expects. */
export function parserProblem(Parser: HttpParserClass | undefined): string | undefined {
  if (typeof Parser !== "function") return "node:_http_common has no HTTPParser";
  for (const name of [
    "kOnMessageBegin",
    "kOnHeaders",
    "kOnHeadersComplete",
    "kOnBody",
    "kOnMessageComplete",
    "kOnExecute",
  ] as const) {
    if (typeof Parser[name] !== "number") return `HTTPParser.${name} is not a callback index`;
  }
  if (typeof Parser.REQUEST !== "number" || typeof Parser.RESPONSE !== "number") {
    return "HTTPParser.REQUEST or RESPONSE is missing";
  }
  for (const name of [
    "initialize",
    "execute",
    "finish",
    "consume",
    "unconsume",
    "getCurrentBuffer",
    "close",
  ]) {
    if (typeof (Parser.prototype as Record<string, unknown>)[name] !== "function") {
      return `HTTPParser has no ${name}()`;
    }
  }
  try {
    return (
      check(Parser, Parser.REQUEST, REQUEST, 0, (seen) => {
        const head = seen.head;
        if (head?.method !== "POST") return `the request's method read as ${head?.method}`;
        if (head.url !== "/check?x=1") return `the request's target read as ${JSON.stringify(head.url)}`;
        if (!sameHeaders(head.headers, ["Host", "teal.test", "X-Two", "a", "Content-Length", "3"])) {
          return `the request's headers read as ${JSON.stringify(head.headers)}`;
        }
        if (seen.body !== "abc") return `the request's body read as ${JSON.stringify(seen.body)}`;
        return undefined;
      }) ??
      // The client returns 1 (no body) and reads a Content-Length body itself after returning 2.
      check(Parser, Parser.RESPONSE, RESPONSE, 0, (seen) => {
        const head = seen.head;
        if (head?.status !== 201 || head.statusText !== "Created") {
          return `the response's status read as ${head?.status} ${JSON.stringify(head?.statusText)}`;
        }
        if (!sameHeaders(head.headers, ["Content-Length", "2", "X-Teal", "yes"])) {
          return `the response's headers read as ${JSON.stringify(head.headers)}`;
        }
        if (seen.body !== "ok") return `the response's body read as ${JSON.stringify(seen.body)}`;
        return undefined;
      }) ??
      check(Parser, Parser.RESPONSE, RESPONSE, 2, (seen, ret) => {
        if (ret !== RESPONSE.length - 2) return `a head answered with 2 stopped the parser at ${String(ret)}`;
        if (seen.body !== "") return "a head answered with 2 still passed its body";
        return undefined;
      }) ??
      check(Parser, Parser.RESPONSE, CHUNKED, 0, (seen) => {
        if (seen.body !== "ok") return `a chunked body read as ${JSON.stringify(seen.body)}`;
        if (!sameHeaders(seen.trailers, ["X-Sum", "7"])) {
          return `a chunked body's trailers read as ${JSON.stringify(seen.trailers)}`;
        }
        return undefined;
      })
    );
  } catch (err) {
    return `parsing threw ${(err as Error)?.message ?? String(err)}`;
  }
}

function check(
  Parser: HttpParserClass,
  type: number,
  text: string,
  headersReturn: number,
  judge: (seen: Seen, ret: unknown) => string | undefined,
): string | undefined {
  const seen: Seen = { began: 0, body: "", complete: 0 };
  const listener: ParserListener = {
    messageBegin: () => {
      seen.began++;
    },
    headersComplete: (headers, _minor, method, url, status, statusText) => {
      seen.head = { headers, method: METHODS[method], url, status, statusText };
      return headersReturn;
    },
    body: (chunk) => {
      if (!Buffer.isBuffer(chunk)) throw new Error("a body chunk is not a Buffer");
      seen.body += chunk.toString("latin1");
    },
    messageComplete: (trailers) => {
      seen.complete++;
      seen.trailers = trailers;
    },
    executed: () => {},
    threw: (err) => {
      seen.threw = err;
    },
  };
  const parser = newParser(type, 16_384, listener, Parser);
  try {
    const ret = parser.execute(Buffer.from(text, "latin1"));
    if (seen.threw !== undefined) return `a callback threw: ${(seen.threw as Error)?.message ?? seen.threw}`;
    if (ret instanceof Error) return `execute failed: ${ret.message}`;
    if (typeof ret !== "number") return `execute returned ${typeof ret}, not a byte count`;
    if (headersReturn === 0 && ret !== text.length) return `execute read ${ret} of ${text.length} bytes`;
    if (seen.began !== 1) return `a message began ${seen.began} times`;
    if (seen.complete !== 1) return `a message completed ${seen.complete} times`;
    return judge(seen, ret);
  } finally {
    parser.close();
  }
}

function sameHeaders(got: unknown, want: readonly string[]): boolean {
  return Array.isArray(got) && got.length === want.length && got.every((x, i) => x === want[i]);
}
