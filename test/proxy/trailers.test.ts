/**
 * Response trailers (issue 18): a hand-written HTTP/1.1 upstream answers chunked with a trailer
 * section after the last chunk, and real clients read them through teal: node:http with and
 * without `TE: trailers` on the plain listener (the engine under test: TEAL_TEST_PROXY_ENGINE),
 * and node:http2 and HTTPS/1.1 on the TLS listener (always the node-http server, over the engine
 * under test's upstream client). Forbidden fields are dropped; an oversized or malformed trailer
 * section is a clean error for that one answer, and the proxy goes on serving.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { type IncomingHttpHeaders, type IncomingMessage, request } from "node:http";
import { type ClientHttp2Session, connect, createServer as createH2cServer } from "node:http2";
import { request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { createPki, type TestPki } from "../support/certs.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { sendRaw } from "../support/raw-client.ts";
import { type RawUpstream, startRawUpstream } from "../support/raw-upstream.ts";

const CHUNKED =
  "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntrailer: grpc-status\r\ntransfer-encoding: chunked\r\n\r\n";

/** The raw answer to each path: whole HTTP/1.1 responses, trailers written by hand. */
const ANSWERS: Record<string, string> = {
  "/grpc": `${CHUNKED}4\r\ndata\r\n0\r\ngrpc-status: 0\r\nGrpc-Message: fine\r\nx-sum: 1\r\nx-sum: 2\r\n\r\n`,
  "/empty": `${CHUNKED}0\r\ngrpc-status: 5\r\n\r\n`,
  "/plain": `${CHUNKED}4\r\ndata\r\n0\r\n\r\n`,
  "/length": "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndata",
  "/close-trailer": `${CHUNKED}4\r\ndata\r\n0\r\nconnection: close\r\nx-ok: yes\r\n\r\n`,
  "/forbidden": `${CHUNKED}4\r\ndata\r\n0\r\n${[
    "content-type: text/evil",
    "transfer-encoding: chunked",
    "connection: close",
    "host: evil.test",
    "authorization: Basic ZXZpbA==",
    "set-cookie: session=evil",
    "location: http://evil.test/",
    "keep-alive: timeout=1",
    "te: trailers",
    "trailer: x-ok",
    "cache-control: no-store",
    "x-ok: yes",
  ].join("\r\n")}\r\n\r\n`,
  // Over llhttp's 16 KiB for a header (or trailer) section; all in one write with its body.
  "/huge": `${CHUNKED}4\r\ndata\r\n0\r\nx-huge: ${"a".repeat(20_000)}\r\n\r\n`,
  // A Content-Length in a trailer section is a framing error to llhttp.
  "/length-trailer": `${CHUNKED}4\r\ndata\r\n0\r\ncontent-length: 99\r\n\r\n`,
  // No body: the head still waits for one when the trailer section turns out bad.
  "/malformed-empty": `${CHUNKED}0\r\nx-bad\u0001: 1\r\n\r\n`,
};

/** Answers whose trailer section is held until the client has the body (release: RELEASE). */
const HELD: Record<string, [string, string]> = {
  "/huge-after": [`${CHUNKED}4\r\ndata\r\n`, `0\r\nx-huge: ${"a".repeat(20_000)}\r\n\r\n`],
  "/malformed-after": [`${CHUNKED}4\r\ndata\r\n`, "0\r\nnot a field\r\n\r\n"],
};
const RELEASE: (() => void)[] = [];

/** Answers every request head that arrives on a connection (GETs only: no body to skip). */
function answerRequests(socket: Socket): void {
  let pending = "";
  socket.on("data", (chunk: Buffer) => {
    pending += chunk.toString("latin1");
    for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
      const path = pending.slice(0, pending.indexOf("\r\n")).split(" ")[1] ?? "/";
      pending = pending.slice(end + 4);
      const held = HELD[path];
      if (held !== undefined) {
        socket.write(held[0], "latin1");
        RELEASE.push(() => socket.write(held[1], "latin1"));
        continue;
      }
      socket.write(ANSWERS[path] ?? "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", "latin1");
    }
  });
}

interface H1Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  rawTrailers: string[];
}

function h1(
  send: typeof request,
  url: string,
  path: string,
  headers: Record<string, string>,
  ca?: Buffer,
): Promise<H1Answer> {
  return new Promise((resolve, reject) => {
    const req = send(
      `${url}${path}`,
      { headers, agent: false, ...(ca ? { ca, servername: "app.test" } : {}) },
      (res: IncomingMessage) => {
        let body = "";
        res.setEncoding("latin1");
        res.on("data", (c: string) => {
          body += c;
          RELEASE.shift()?.();
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, rawTrailers: res.rawTrailers }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("aborted")));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

interface H2Answer {
  status: number;
  body: string;
  trailers: Record<string, unknown> | undefined;
}

function h2(s: ClientHttp2Session, path: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ":path": path, te: "trailers" });
    let status = 0;
    let body = "";
    let trailers: Record<string, unknown> | undefined;
    stream.setEncoding("latin1");
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("trailers", (t) => (trailers = { ...t }));
    stream.on("data", (c: string) => {
      body += c;
      RELEASE.shift()?.();
    });
    stream.on("end", () => resolve({ status, body, trailers }));
    stream.on("error", reject);
    stream.end();
  });
}

describe("response trailers", () => {
  let pki: TestPki;
  let upstream: RawUpstream;
  let proxy: { plane: DataPlane; url: string; port: number };
  let tlsUrl: string;
  let session: ClientHttp2Session;

  before(async () => {
    pki = await createPki();
    const leaf = await pki.leaf("app", ["app.test"]);
    upstream = await startRawUpstream(answerRequests);
    const spec = serviceSpec("app", { blue: [upstream.url], green: [upstream.url] });
    proxy = await startDataPlane([spec], {
      tls: { listen: "127.0.0.1:0", certificates: [leaf], hsts: false },
    });
    tlsUrl = `https://127.0.0.1:${(proxy.plane.tlsAddress as AddressInfo).port}`;
    session = connect(tlsUrl, { ca: pki.root, servername: "app.test" });
    session.on("error", () => {});
    await once(session, "connect");
    assert.equal(session.alpnProtocol, "h2");
  });

  after(async () => {
    session.close();
    await proxy.plane.close(0);
    await upstream.close();
    await pki.remove();
  });

  it("reach an HTTP/1.1 client that sent TE: trailers, after its chunked body", async () => {
    const answer = await h1(request, proxy.url, "/grpc", { te: "trailers" });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "data");
    assert.equal(answer.headers["transfer-encoding"], "chunked");
    assert.deepEqual(answer.rawTrailers, ["grpc-status", "0", "grpc-message", "fine", "x-sum", "1, 2"]);
    const empty = await h1(request, proxy.url, "/empty", { te: "deflate, trailers" });
    assert.equal(empty.body, "");
    assert.deepEqual(empty.rawTrailers, ["grpc-status", "5"], "a body of no bytes keeps its trailers");
  });

  it("are dropped for an HTTP/1.1 client that did not send TE: trailers", async () => {
    const answer = await h1(request, proxy.url, "/grpc", {});
    assert.equal(answer.body, "data");
    assert.deepEqual(answer.rawTrailers, []);
  });

  it("never turn a Content-Length answer (or one without trailers, or to HTTP/1.0) into anything else", async () => {
    const length = await h1(request, proxy.url, "/length", { te: "trailers" });
    assert.equal(length.headers["content-length"], "4");
    assert.equal(length.headers["transfer-encoding"], undefined);
    assert.equal(length.body, "data");
    // An HTTP/1.0 client reads the body to the connection's end: no chunks, so no trailers.
    const old = await sendRaw(proxy.port, "GET /grpc HTTP/1.0\r\nHost: app.test\r\nTE: trailers\r\n\r\n");
    assert.equal(old?.status, 200);
    assert.equal(old?.body, "data");
    assert.equal(old?.headers["transfer-encoding"], undefined);
    const plain = await h1(request, proxy.url, "/plain", { te: "trailers" });
    assert.equal(plain.body, "data");
    assert.deepEqual(plain.rawTrailers, []);
  });

  it("reach an HTTP/2 client as a trailing HEADERS frame, and an HTTPS/1.1 one, on the TLS listener", async () => {
    const answer = await h2(session, "/grpc");
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "data");
    assert.equal(answer.trailers?.["grpc-status"], "0");
    assert.equal(answer.trailers?.["grpc-message"], "fine");
    assert.equal(answer.trailers?.["x-sum"], "1, 2");
    const empty = await h2(session, "/empty");
    assert.equal(empty.trailers?.["grpc-status"], "5");
    const none = await h2(session, "/length");
    assert.equal(none.body, "data");
    assert.equal(none.trailers, undefined, "no trailers, no trailing HEADERS frame");
    const https = await h1(httpsRequest as typeof request, tlsUrl, "/grpc", { te: "trailers" }, pki.root);
    assert.deepEqual(https.rawTrailers, ["grpc-status", "0", "grpc-message", "fine", "x-sum", "1, 2"]);
  });

  it("drop forbidden fields (framing, routing, authentication, cookies, controls, hop-by-hop)", async () => {
    const answer = await h1(request, proxy.url, "/forbidden", { te: "trailers" });
    assert.equal(answer.body, "data");
    assert.deepEqual(answer.rawTrailers, ["x-ok", "yes"]);
    const h2Answer = await h2(session, "/forbidden");
    assert.equal(h2Answer.body, "data");
    const names = Object.keys(h2Answer.trailers ?? {}).filter((n) => !n.startsWith(":"));
    assert.deepEqual(names, ["x-ok"]);
    // The Trailer header that announced them is hop-by-hop to teal: never forwarded.
    assert.equal(answer.headers.trailer, undefined);
  });

  it("a Connection field in a trailer section keeps its upstream connection from being reused", async () => {
    const closing = await h1(request, proxy.url, "/close-trailer", { te: "trailers" });
    assert.deepEqual(closing.rawTrailers, ["x-ok", "yes"]);
    for (let i = 0; i < 3; i++) {
      const next = await h1(request, proxy.url, "/length", {});
      assert.equal(next.status, 200, next.body);
      assert.equal(next.body, "data");
    }
  });

  it("an oversized or malformed trailer section fails its answer only; the proxy goes on serving", async () => {
    for (const path of ["/huge-after", "/malformed-after"]) {
      // The body went out: the client's connection (HTTP/1.1) or stream (HTTP/2) is cut, never
      // ended as if the answer were whole.
      await assert.rejects(h1(request, proxy.url, path, { te: "trailers" }), `${path} over HTTP/1.1`);
      await assert.rejects(h2(session, path), `${path} over HTTP/2`);
    }
    // Nothing of the body went out yet: the client gets teal's 502 instead.
    const early = await h1(request, proxy.url, "/malformed-empty", { te: "trailers" });
    assert.equal(early.status, 502);
    assert.match(early.body, /the upstream sent an invalid response/);
    assert.equal((await h2(session, "/malformed-empty")).status, 502);
    // The same HTTP/2 connection and the plain listener still serve.
    assert.equal((await h2(session, "/grpc")).trailers?.["grpc-status"], "0");
    assert.deepEqual((await h1(request, proxy.url, "/empty", { te: "trailers" })).rawTrailers, [
      "grpc-status",
      "5",
    ]);
  });

  it("an HTTP/2-only (h2c) upstream, as gRPC servers are, is a 502: teal's upstreams speak HTTP/1.1", async () => {
    const h2c = createH2cServer((_req, res) => res.end("h2c"));
    h2c.listen(0, "127.0.0.1");
    await once(h2c, "listening");
    const port = (h2c.address() as AddressInfo).port;
    const spec = serviceSpec("app", {
      blue: [`http://127.0.0.1:${port}`],
      green: [`http://127.0.0.1:${port}`],
    });
    const other = await startDataPlane([spec]);
    try {
      const answer = await h1(request, other.url, "/", {});
      assert.equal(answer.status, 502);
    } finally {
      await other.plane.close(0);
      h2c.close();
    }
  });
});
