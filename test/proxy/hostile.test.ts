/** Malformed and hostile traffic from both sides: the proxy answers it correctly and keeps serving. */

import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { type IncomingMessage, request, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { AccessLogRecorder } from "../support/access-log.ts";
import { type Backend, echoName, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { parseResponse, sendRaw } from "../support/raw-client.ts";
import { type RawUpstream, startRawUpstream } from "../support/raw-upstream.ts";

/** Resolves when `emitter` closes, whatever error came first. */
function closeOf(emitter: EventEmitter): Promise<void> {
  return new Promise((resolve) => emitter.once("close", () => resolve()));
}

/** A request head with the given header lines (each without CRLF), closing the connection after. */
function head(lines: string[], requestLine = "GET / HTTP/1.1"): string {
  return `${[requestLine, "Host: app.test", ...lines, "Connection: close"].join("\r\n")}\r\n\r\n`;
}

describe("a client that sends a malformed or hostile request", () => {
  let backend: Backend;
  let plane: DataPlane;
  let port: number;
  const log = new AccessLogRecorder();
  const clientErrors: string[] = [];
  /** Emits "reported" for each client error the proxy reports. */
  const clientErrorReports = new EventEmitter();

  before(async () => {
    backend = await startBackend("blue", (req, res, name) => {
      if (req.url === "/stream" || req.url === "/held") {
        // Sends a first chunk and then keeps the response open until the proxy lets go of it.
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first chunk\n");
        return;
      }
      if (req.url?.startsWith("/upload")) return; // Reads nothing and never answers: the client gives up.
      echoName(req, res, name);
    });
    ({ plane, port } = await startDataPlane(
      [serviceSpec("app", { blue: [backend.url], green: [] })],
      {},
      {
        accessLog: log.record,
        clientError: (code) => {
          clientErrors.push(code);
          clientErrorReports.emit("reported", code);
        },
      },
    ));
  });

  after(async () => {
    await plane.close(0);
    await backend.close();
  });

  it("gets 400 when it sends both Content-Length and Transfer-Encoding, and nothing reaches the upstream", async () => {
    const before = backend.seen.length;
    for (const framing of [
      ["Content-Length: 5", "Transfer-Encoding: chunked"],
      ["Transfer-Encoding: chunked", "Content-Length: 5"],
    ]) {
      const res = await sendRaw(port, `${head(framing, "POST / HTTP/1.1")}0\r\n\r\n`);
      assert.equal(res?.status, 400);
      assert.match(res.body, /Transfer-Encoding with Content-Length|Content-Length with Transfer-Encoding/);
    }
    assert.equal(backend.seen.length, before);
  });

  it("gets 400 when it sends two different Content-Length values", async () => {
    const before = backend.seen.length;
    const res = await sendRaw(
      port,
      `${head(["Content-Length: 5", "Content-Length: 7"], "POST / HTTP/1.1")}hello`,
    );
    assert.equal(res?.status, 400);
    assert.match(res.body, /more than one Content-Length/);
    assert.equal(backend.seen.length, before);
  });

  it("gets 431 when its headers are larger than maxHeaderBytes", async () => {
    const res = await sendRaw(port, head([`X-Big: ${"a".repeat(20_000)}`]));
    assert.equal(res?.status, 431);
    assert.match(res.body, /request headers are too large/);
  });

  it("gets 431 when it sends an absurd number of headers", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `X-H${i}: ${i}`);
    const res = await sendRaw(port, head(many));
    assert.equal(res?.status, 431);
  });

  it("gets 400 for a garbage request line", async () => {
    const res = await sendRaw(port, "HELLO THERE, PROXY\r\n\r\n");
    assert.equal(res?.status, 400);
    assert.match(res.body, /malformed HTTP request/);
  });

  it("gets 400 for binary garbage instead of a request", async () => {
    const res = await sendRaw(
      port,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
    );
    assert.equal(res?.status, 400);
  });

  it("gets 400 for a NUL byte in a header value", async () => {
    const res = await sendRaw(port, head(["X-Evil: a\0b"]));
    assert.equal(res?.status, 400);
    assert.match(res.body, /invalid character in a header/);
  });

  it("gets 400 for a bare CR in a header value", async () => {
    const res = await sendRaw(port, head(["X-Evil: a\rInjected: yes"]));
    assert.equal(res?.status, 400);
    assert.match(res.body, /invalid character in a header/);
  });

  it("gets 400 for a space before the colon of a header name", async () => {
    const res = await sendRaw(port, head(["X-Evil : smuggled"]));
    assert.equal(res?.status, 400);
  });

  it("gets 400 for a malformed chunked body, even after the request went upstream", async () => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(socket, "connect");
    socket.write(head(["Transfer-Encoding: chunked"], "POST /upload-chunked HTTP/1.1"));
    await eventually(() => backend.seen.some((r) => r.url === "/upload-chunked"), "the head upstream");
    socket.write("zz\r\nhello\r\n");
    await closeOf(socket);
    const res = parseResponse(Buffer.concat(chunks));
    assert.equal(res?.status, 400);
    assert.match(res.body, /malformed HTTP request/);
    const entry = await log.waitFor((e) => e.path === "/upload-chunked");
    assert.equal(entry.status, 499, "the upstream request is given up");
  });

  it("that sends half a request head and disconnects costs nothing upstream", async () => {
    const before = backend.seen.length;
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    await once(socket, "connect");
    socket.resume();
    socket.end("GET / HTTP/1.1\r\nHost: app.test\r\nX-Partial: ye");
    await closeOf(socket);
    assert.equal(backend.seen.length, before);
  });

  it("that sends half a body and disconnects is logged as 499 and the upstream request is cancelled", async () => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    await once(socket, "connect");
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage, ServerResponse]>;
    socket.write(`${head(["Content-Length: 100000"], "POST /upload HTTP/1.1")}${"x".repeat(1000)}`);
    const [upstreamReq] = await arrived;
    upstreamReq.on("error", () => {}); // "aborted", which is the point
    const upstreamClosed = closeOf(upstreamReq);
    socket.destroy();
    const entry = await log.waitFor((e) => e.path === "/upload");
    assert.equal(entry.status, 499);
    await upstreamClosed;
    assert.equal(upstreamReq.complete, false);
  });

  it("that disconnects mid-response is logged with status 499 and counted as clientAborted", async () => {
    const abortedBefore = plane.status()[0]!.stats.blue.clientAborted;
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage, ServerResponse]>;
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/stream",
      headers: { host: "app.test" },
      agent: false,
    });
    req.on("error", () => {});
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    await once(res, "data");
    const [, upstreamRes] = await arrived;
    const upstreamClosed = closeOf(upstreamRes);
    req.destroy();

    const entry = await log.waitFor((e) => e.path === "/stream");
    assert.equal(entry.status, 499);
    assert.equal(plane.status()[0]!.stats.blue.clientAborted, abortedBefore + 1);
    // The proxy stops pulling the response the client no longer wants.
    await upstreamClosed;
    assert.equal(upstreamRes.writableFinished, false);
  });

  /**
   * Pipelines GET /held and then garbage on one connection; the garbage goes out either right
   * behind the good request or once the good response has started streaming.
   */
  async function pipelineGarbage(whenGoodResponseStarted: boolean): Promise<string> {
    const socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    const closed = closeOf(socket);
    await once(socket, "connect");
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage, ServerResponse]>;
    const reported = once(clientErrorReports, "reported");
    const good = "GET /held HTTP/1.1\r\nHost: app.test\r\n\r\n";
    const garbage = "GARBAGE GARBAGE\r\n\r\n";
    if (whenGoodResponseStarted) {
      socket.write(good);
      await once(socket, "data");
      socket.write(garbage);
    } else {
      socket.write(good + garbage);
    }
    const [, upstreamRes] = await arrived;
    await reported;
    upstreamRes.end("last chunk\n");
    await closed;
    return received;
  }

  for (const started of [false, true]) {
    const when = started ? "once the good response has started" : "right behind it";
    it(`that pipelines garbage behind a good request (${when}) gets the good response whole, then 400`, async () => {
      const received = await pipelineGarbage(started);
      const at = received.indexOf("HTTP/1.1 400 ");
      assert.ok(at > 0, `the 400 follows the good response: ${JSON.stringify(received)}`);
      const good = parseResponse(Buffer.from(received.slice(0, at), "latin1"));
      assert.equal(good?.status, 200);
      assert.equal(good.complete, true);
      assert.equal(good.body, "first chunk\nlast chunk\n");
      assert.match(
        received.slice(at),
        /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\n400 Bad Request: malformed HTTP request\n$/,
      );
    });
  }

  it("still serves a normal request afterwards, and reported every rejected request", async () => {
    const res = await get(`http://127.0.0.1:${port}/`, { host: "app.test" });
    assert.equal(res.status, 200);
    assert.equal(res.body, "blue");
    assert.deepEqual(
      new Set(clientErrors),
      new Set([
        "HPE_INVALID_TRANSFER_ENCODING",
        "HPE_INVALID_CONTENT_LENGTH",
        "HPE_UNEXPECTED_CONTENT_LENGTH",
        "HPE_HEADER_OVERFLOW",
        "HPE_INVALID_METHOD",
        "HPE_INVALID_HEADER_TOKEN",
        "HPE_LF_EXPECTED",
        "HPE_INVALID_CHUNK_SIZE",
        "HPE_INVALID_EOF_STATE",
      ]),
    );
  });
});

describe("the headers the proxy sends upstream and back", () => {
  let backend: Backend;
  let plane: DataPlane;
  let url: string;
  let trustingPlane: DataPlane;
  let trustingUrl: string;

  before(async () => {
    backend = await startBackend("blue");
    const services = [serviceSpec("app", { blue: [backend.url], green: [] })];
    ({ plane, url } = await startDataPlane(services));
    ({ plane: trustingPlane, url: trustingUrl } = await startDataPlane(services, {
      trustedProxies: ["127.0.0.1"],
    }));
  });

  after(async () => {
    await plane.close(0);
    await trustingPlane.close(0);
    await backend.close();
  });

  /** Sends one request through `via` and returns what the client saw and what the backend received. */
  async function roundTrip(via: string, headers: Record<string, string>) {
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage]>;
    const res = await get(`${via}/`, { host: "app.test", ...headers });
    const [upstream] = await arrived;
    return { res, upstream: upstream.headers };
  }

  it("does not forward hop-by-hop headers, nor a header the client named in Connection", async () => {
    const socketHeaders = [
      "Connection: keep-alive, X-Secret",
      "Keep-Alive: timeout=5",
      "TE: trailers",
      "Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==",
      "X-Secret: hush",
      "X-Visible: yes",
    ];
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage]>;
    const res = await sendRaw(
      Number(new URL(url).port),
      `GET / HTTP/1.1\r\nHost: app.test\r\n${socketHeaders.join("\r\n")}\r\n\r\n`,
    );
    assert.equal(res?.status, 200);
    const [upstream] = await arrived;
    for (const name of ["keep-alive", "te", "proxy-authorization", "x-secret"]) {
      assert.equal(upstream.headers[name], undefined, `${name} was forwarded`);
    }
    assert.doesNotMatch(upstream.headers.connection ?? "", /x-secret/i);
    assert.equal(upstream.headers["x-visible"], "yes");
  });

  it("sets X-Forwarded-For, -Proto and -Host", async () => {
    const { upstream } = await roundTrip(url, {});
    assert.equal(upstream["x-forwarded-for"], "127.0.0.1");
    assert.equal(upstream["x-forwarded-proto"], "http");
    assert.equal(upstream["x-forwarded-host"], "app.test");
  });

  it("replaces a client's X-Forwarded-* by default: the client is not a trusted proxy", async () => {
    const { upstream } = await roundTrip(url, {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "spoofed.example",
    });
    assert.equal(upstream["x-forwarded-for"], "127.0.0.1");
    assert.equal(upstream["x-forwarded-proto"], "http");
    assert.equal(upstream["x-forwarded-host"], "app.test");
  });

  it("appends to X-Forwarded-For from a client listed in trustForwardedFrom", async () => {
    const { upstream } = await roundTrip(trustingUrl, {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
    });
    assert.equal(upstream["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert.equal(upstream["x-forwarded-proto"], "https");
  });

  it("adds a request id upstream and echoes the same id to the client", async () => {
    const { res, upstream } = await roundTrip(url, {});
    const id = upstream["x-request-id"];
    assert.equal(typeof id, "string");
    assert.notEqual(id, "");
    assert.equal(res.headers["x-request-id"], id);
  });

  it("keeps a valid request id sent by the client", async () => {
    const { res, upstream } = await roundTrip(url, { "x-request-id": "trace-42.abc:1" });
    assert.equal(upstream["x-request-id"], "trace-42.abc:1");
    assert.equal(res.headers["x-request-id"], "trace-42.abc:1");
  });

  it("passes every Set-Cookie the upstream sends, and teal's sticky cookie beside them", async () => {
    const upstreamCookies = ["session=abc; Path=/; HttpOnly", "theme=dark; Path=/"];
    const cookies = await startBackend("cookies", (_req, res) => {
      res.setHeader("set-cookie", upstreamCookies);
      res.end("ok");
    });
    const route = (host: string) => ({ routes: [{ host, path: "/", stripPrefix: false }] });
    const { plane: cookiePlane, url: cookieUrl } = await startDataPlane([
      serviceSpec("plain", { blue: [cookies.url], green: [] }, route("plain.test")),
      serviceSpec(
        "sticky",
        { blue: [cookies.url], green: [] },
        { ...route("sticky.test"), sticky: { cookie: "teal-key", setCookie: true } },
      ),
    ]);

    const plain = await get(`${cookieUrl}/`, { host: "plain.test" });
    assert.deepEqual(plain.headers["set-cookie"], upstreamCookies);
    const sticky = await get(`${cookieUrl}/`, { host: "sticky.test" });
    const set = sticky.headers["set-cookie"] as string[];
    assert.deepEqual(
      set.filter((c) => !c.startsWith("teal-key=")),
      upstreamCookies,
    );
    assert.equal(set.filter((c) => c.startsWith("teal-key=")).length, 1);

    await cookiePlane.close(0);
    await cookies.close();
  });

  it("replaces a request id that is not a safe token", async () => {
    const { res, upstream } = await roundTrip(url, { "x-request-id": `<script>${"x".repeat(200)}` });
    assert.match(upstream["x-request-id"] as string, /^[A-Za-z0-9._:-]{1,128}$/);
    assert.equal(res.headers["x-request-id"], upstream["x-request-id"]);
  });
});

describe("a misbehaving upstream", () => {
  let plane: DataPlane;
  let url: string;
  const upstreams: RawUpstream[] = [];
  let healthy: Backend;

  before(async () => {
    const hangsUp = await startRawUpstream((socket) => socket.once("data", () => socket.destroy()));
    const badStatus = await startRawUpstream((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 TWO HUNDRED OK\r\nContent-Length: 2\r\n\r\nok")),
    );
    const badHeader = await startRawUpstream((socket) =>
      socket.once("data", () =>
        socket.end("HTTP/1.1 200 OK\r\nX-Bad Header: yes\r\nContent-Length: 2\r\n\r\nok"),
      ),
    );
    const delInReason = await startRawUpstream((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 200 b\x7fad\r\nContent-Length: 2\r\n\r\nok")),
    );
    const below100 = await startRawUpstream((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok")),
    );
    // Keep-alive: the first answer carries a trailer and a second, unasked-for response right
    // behind it; later requests get a plain answer.
    let answered = 0;
    const trailerThenExtra = await startRawUpstream((socket) => {
      socket.on("data", () => {
        const n = ++answered;
        socket.write(
          n === 1
            ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Leak\r\n\r\n2\r\nok\r\n0\r\nX-Leak: yes\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"
            : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
        );
      });
    });
    upstreams.push(hangsUp, badStatus, badHeader, delInReason, below100, trailerThenExtra);
    healthy = await startBackend("healthy");
    const service = (name: string, endpoint: string) =>
      serviceSpec(
        name,
        { blue: [endpoint], green: [] },
        { routes: [{ host: `${name}.test`, path: "/", stripPrefix: false }] },
      );
    ({ plane, url } = await startDataPlane([
      service("hangs-up", hangsUp.url),
      service("bad-status", badStatus.url),
      service("bad-header", badHeader.url),
      service("del-in-reason", delInReason.url),
      service("below-100", below100.url),
      service("trailer", trailerThenExtra.url),
      service("healthy", healthy.url),
    ]));
  });

  after(async () => {
    await plane.close(0);
    await Promise.all(upstreams.map((u) => u.close()));
    await healthy.close();
  });

  it("that closes the connection without answering gets the client a 502 that says so", async () => {
    const res = await get(`${url}/`, { host: "hangs-up.test" });
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-teal-error"], "upstream_closed");
    assert.match(res.body, /upstream closed the connection/);
  });

  it("that answers with a malformed status line gets the client a 502 that says so", async () => {
    const res = await get(`${url}/`, { host: "bad-status.test" });
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-teal-error"], "upstream_bad_response");
    assert.match(res.body, /invalid response/);
  });

  it("that answers with an invalid header gets the client a 502 that says so", async () => {
    const res = await get(`${url}/`, { host: "bad-header.test", accept: "application/json" });
    assert.equal(res.status, 502);
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(JSON.parse(res.body).error.code, "upstream_bad_response");
  });

  it("that puts a DEL in its status text gets the client a 502 that says so", async () => {
    const res = await get(`${url}/`, { host: "del-in-reason.test", accept: "application/json" });
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(res.body).error.code, "upstream_bad_response");
  });

  it("that answers with a status below 100 gets the client a 502, at once", async () => {
    const res = await get(`${url}/`, { host: "below-100.test" });
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-teal-error"], "upstream_bad_response");
    // In teal's own words, not an HTTP client library's error code.
    assert.match(res.body, /invalid response \(status 99 is not an answer\)/);
  });

  it("never lets a trailer or an unasked-for response reach the next request on its connection", async () => {
    const first = await get(`${url}/`, { host: "trailer.test" });
    assert.equal(first.body, "ok");
    assert.equal(first.headers["x-leak"], undefined);
    const second = await get(`${url}/`, { host: "trailer.test" });
    assert.equal(second.status, 200);
    assert.equal(second.body, "second", "the extra response was dropped with its connection");
    assert.equal(second.headers["x-leak"], undefined);
    assert.equal(upstreams[5]!.accepted, 2, "the connection that sent it was not used again");
  });

  it("does not take the proxy down: other services still answer", async () => {
    const res = await get(`${url}/`, { host: "healthy.test" });
    assert.equal(res.status, 200);
    assert.equal(res.body, "healthy");
  });
});
