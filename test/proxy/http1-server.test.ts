/**
 * The proxy's own HTTP/1.1 server, as a client sees it: framing (HEAD, HTTP/1.0, chunked),
 * pipelining, Expect, the head and keep-alive timeouts, and closing with tunnels open.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { Session } from "node:inspector/promises";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { HTTPParser } from "../../src/proxy/http1/parser.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane, testEngine, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { parseResponse, sendRaw } from "../support/raw-client.ts";
import { startRawUpstream } from "../support/raw-upstream.ts";

/**
 * node:http (the node-http engine) says `Connection: keep-alive` on every kept HTTP/1.1 answer and
 * advertises a keep-alive below a second as `timeout=0`; the fast engine says neither (README
 * "Proxy engines").
 */
const FAST = testEngine().name === "fast";

// Where the inspector finds the parser's prototype, to count the live parsers.
(globalThis as { __tealParserPrototype?: object }).__tealParserPrototype = HTTPParser.prototype;

/** A connected raw socket that collects everything the server sends. */
async function rawConnection(
  port: number,
  allowHalfOpen = false,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen });
  socket.on("error", () => {});
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await once(socket, "connect");
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed };
}

/** Splits a stream of responses whose bodies all have a Content-Length (or none, for HEAD). */
function splitResponses(raw: string, heads: ReadonlySet<number> = new Set()): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const length = heads.has(out.length)
      ? 0
      : Number(/content-length: (\d+)/i.exec(raw.slice(at, end))?.[1] ?? 0);
    out.push(raw.slice(at, end + 4 + length));
    at = end + 4 + length;
  }
  return out;
}

describe("the proxy's HTTP/1.1 server", () => {
  let backend: Backend;
  let fresh: Backend;
  let plane: DataPlane;
  let port: number;
  /** Responses to /slow, held until a test ends them. */
  const held: ServerResponse[] = [];

  before(async () => {
    backend = await startBackend("blue", (req, res) => {
      if (req.url === "/slow") {
        held.push(res);
        return;
      }
      req.resume();
      req.on("end", () => {
        if (req.url === "/head") {
          res.end(JSON.stringify({ url: req.url, host: req.headers.host, user: req.headers["x-user"] }));
        } else if (req.url === "/unsized") {
          res.write("a"); // no Content-Length: node sends it chunked, teal frames it anew
          res.end("b");
        } else if (req.url === "/no-content") {
          res.writeHead(204).end();
        } else {
          const body = `you asked for ${req.url}`;
          res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
          res.end(req.method === "HEAD" ? undefined : body);
        }
      });
    });
    fresh = await startBackend("fresh");
    ({ plane, port } = await startDataPlane([
      serviceSpec(
        "fresh",
        { blue: [fresh.url], green: [] },
        { routes: [{ host: "fresh.test", path: "/", stripPrefix: false }] },
      ),
      serviceSpec("app", { blue: [backend.url], green: [] }),
    ]));
  });

  after(async () => {
    for (const res of held) res.end();
    await plane.close(0);
    await backend.close();
    await fresh.close();
  });

  it("answers pipelined requests in order, on one connection", async () => {
    const c = await rawConnection(port);
    const get = (path: string, last = false) =>
      `GET ${path} HTTP/1.1\r\nHost: app.test\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
    c.socket.write(get("/one") + get("/two") + get("/three", true));
    await c.closed;
    const bodies = splitResponses(c.received()).map((r) => parseResponse(Buffer.from(r, "latin1"))?.body);
    assert.deepEqual(bodies, ["you asked for /one", "you asked for /two", "you asked for /three"]);
  });

  it("answers HEAD with the headers and no body, and the connection goes on", async () => {
    const c = await rawConnection(port);
    c.socket.write(
      "HEAD /page HTTP/1.1\r\nHost: app.test\r\n\r\nGET /page HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    );
    await c.closed;
    const [head, get] = splitResponses(c.received(), new Set([0]));
    assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head!, /content-length: 19\r\n/i);
    assert.ok(head!.endsWith("\r\n\r\n"), "no body after the HEAD response's head");
    assert.equal(parseResponse(Buffer.from(get!, "latin1"))?.body, "you asked for /page");
  });

  it("sends a body of unknown length chunked to an HTTP/1.1 client, and keeps the connection", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET /unsized HTTP/1.1\r\nHost: app.test\r\n\r\n");
    await new Promise<void>((resolve) =>
      c.socket.on("data", () => c.received().endsWith("0\r\n\r\n") && resolve()),
    );
    const res = parseResponse(Buffer.from(c.received(), "latin1"));
    assert.equal(res?.headers["transfer-encoding"], "chunked");
    assert.equal(res?.body, "ab");
    if (FAST) assert.equal(res?.headers.connection, undefined, "no Connection: close");
    else assert.equal(res?.headers.connection, "keep-alive", "no Connection: close");
    assert.equal(res?.headers["keep-alive"], "timeout=30", "clientKeepAliveMs, in whole seconds");
    assert.equal(c.socket.readyState, "open");
    c.socket.destroy();
  });

  it("ends a body of unknown length with the connection for an HTTP/1.0 client", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET /unsized HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n");
    await c.closed;
    const res = parseResponse(Buffer.from(c.received(), "latin1"));
    assert.equal(res?.headers["transfer-encoding"], undefined);
    assert.equal(res?.headers.connection, "close");
    assert.equal(res?.body, "ab");
  });

  it("keeps an HTTP/1.0 keep-alive connection when the length is known", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET /a HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\n\r\n");
    c.socket.write("GET /b HTTP/1.0\r\nHost: app.test\r\n\r\n");
    await c.closed; // the second request did not ask to keep the connection
    const [first, second] = splitResponses(c.received());
    assert.match(first!, /\r\nconnection: keep-alive\r\n/i);
    assert.equal(parseResponse(Buffer.from(second!, "latin1"))?.body, "you asked for /b");
  });

  it("passes a 204 with no body and keeps the connection", async () => {
    const c = await rawConnection(port);
    c.socket.write(
      "GET /no-content HTTP/1.1\r\nHost: app.test\r\n\r\nGET /x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    );
    await c.closed;
    const [first, second] = splitResponses(c.received());
    assert.match(first!, /^HTTP\/1\.1 204 No Content\r\n/);
    assert.doesNotMatch(first!, /transfer-encoding/i);
    assert.equal(parseResponse(Buffer.from(second!, "latin1"))?.body, "you asked for /x");
  });

  it("sends 100 Continue to a client that expects it, and then the answer", async () => {
    const c = await rawConnection(port);
    c.socket.write(
      "POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    await new Promise<void>((resolve) =>
      c.socket.on("data", () => c.received().includes("\r\n\r\n") && resolve()),
    );
    assert.equal(c.received(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.socket.write("hello");
    await c.closed;
    const res = parseResponse(
      Buffer.from(c.received().slice("HTTP/1.1 100 Continue\r\n\r\n".length), "latin1"),
    );
    assert.equal(res?.status, 200);
    assert.equal(res?.body, "you asked for /upload");
  });

  for (const [what, request, status, reason] of [
    [
      "an Expect it does not support",
      "GET / HTTP/1.1\r\nHost: app.test\r\nExpect: magic\r\n\r\n",
      417,
      /100-continue/,
    ],
    ["an HTTP/1.1 request without Host", "GET / HTTP/1.1\r\n\r\n", 400, /needs a Host header/],
    ["CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405, /reverse proxy/],
  ] as const) {
    it(`answers ${status} to ${what}, and nothing reaches the upstream`, async () => {
      const before = backend.seen.length;
      const res = await sendRaw(port, request);
      assert.equal(res?.status, status);
      assert.match(res.body, reason);
      assert.equal(res.headers.connection, "close");
      assert.equal(backend.seen.length, before);
    });
  }

  it("drops a chunked request's trailers: the next request on the connection keeps its own head", async () => {
    const c = await rawConnection(port);
    c.socket.write(
      "POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" +
        "0\r\nHost: spoofed.test\r\nX-User: admin\r\n\r\n" +
        "GET /head HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    );
    await c.closed;
    const [, second] = splitResponses(c.received().replace(/transfer-encoding: chunked\r\n/gi, ""));
    const body = /\{.*\}/.exec(second ?? "")?.[0];
    assert.deepEqual(JSON.parse(body ?? "null"), { url: "/head", host: "app.test" });
  });

  it("writes nothing after a body that ends with the connection, even when bad input follows", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET /unsized HTTP/1.0\r\nHost: app.test\r\n\r\nXX");
    await c.closed;
    const received = c.received();
    assert.ok(received.endsWith("\r\n\r\nab"), `the body, then the end: ${JSON.stringify(received)}`);
  });

  it("lives through clients that break off with a body nobody reads", async () => {
    const cut = async (request: string, status: number) => {
      const c = await rawConnection(port);
      c.socket.write(request);
      await new Promise<void>((resolve) =>
        c.socket.on("data", () => c.received().includes("\r\n\r\n") && resolve()),
      );
      assert.match(c.received(), new RegExp(`^HTTP/1\\.1 ${status} `));
      c.socket.destroy();
      await c.closed;
    };
    // Refused before anyone reads its body: no Host, an unknown Expect.
    await cut("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab", 400);
    await cut("POST / HTTP/1.1\r\nHost: app.test\r\nExpect: nope\r\nContent-Length: 10\r\n\r\nab", 417);
    // A pipelined POST, cut halfway, behind a request still waiting for its answer.
    const c = await rawConnection(port);
    c.socket.write(
      "GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\nPOST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n\r\nab",
    );
    await eventually(() => held.length > 0, "the slow request upstream");
    c.socket.resetAndDestroy();
    await c.closed;
    // A malformed body in the same packet as its head, before teal has a connection upstream.
    const res = await sendRaw(
      port,
      "POST / HTTP/1.1\r\nHost: fresh.test\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
    );
    assert.equal(res?.status, 400);
    const after = await sendRaw(port, "GET /after HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
    assert.equal(after?.body, "you asked for /after");
  });

  it("dates its own answers", async () => {
    const request = "GET / HTTP/1.1\r\nHost: app.test\r\nX-Teal-Color: green\r\nConnection: close\r\n\r\n";
    const res = await sendRaw(port, request);
    assert.equal(res?.headers["x-teal-error"], "no_endpoints");
    assert.ok(Date.parse(res.headers.date ?? "") > 0, `a Date header: ${res.headers.date}`);
  });
});

describe("the proxy's HTTP/1.1 server's timeouts", () => {
  let backend: Backend;
  let plane: DataPlane;
  let port: number;

  before(async () => {
    backend = await startBackend("blue");
    ({ plane, port } = await startDataPlane([serviceSpec("app", { blue: [backend.url], green: [] })], {
      timeouts: { ...testSettings.timeouts, clientKeepAliveMs: 200, clientHeadersMs: 200 },
    }));
  });

  after(async () => {
    await plane.close(0);
    await backend.close();
  });

  it("closes an idle keep-alive connection after clientKeepAliveMs, not before", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\n");
    const [answeredAt] = await Promise.all([once(c.socket, "data").then(() => performance.now()), c.closed]);
    const idle = performance.now() - answeredAt;
    const res = parseResponse(Buffer.from(c.received(), "latin1"));
    assert.equal(res?.body, "blue");
    if (FAST) assert.equal(res?.headers["keep-alive"], undefined, "no hint in whole seconds fits 200 ms");
    else assert.equal(res?.headers["keep-alive"], "timeout=0", "node:http rounds 200 ms down");
    // teal waits 200-250 ms from the end of its answer (4 to 5 sweeps of 50 ms); the client sees
    // the answer a little later, so its own count may be a few ms short of teal's.
    assert.ok(idle >= 190, `closed ${idle.toFixed(0)} ms after the answer`);
  });

  it("closes a connection whose request body stalls after its answer, at the keep-alive timeout", async () => {
    const c = await rawConnection(port);
    // No green endpoints: teal answers 503 at once, without reading the body, which never ends.
    c.socket.write(
      "POST / HTTP/1.1\r\nHost: app.test\r\nX-Teal-Color: green\r\nContent-Length: 100\r\n\r\nab",
    );
    await c.closed;
    assert.equal(parseResponse(Buffer.from(c.received(), "latin1"))?.status, 503);
  });

  it("cuts a client that goes on sending after its 400, at the head timeout", async () => {
    const c = await rawConnection(port, true); // a client that never closes its side
    c.socket.write("GET / HTTP/1.1\r\n\r\n");
    c.socket.write("GET / HTTP/1.1\r\nHost: app.test\r\n\r\nGET / HTT");
    // Having sent its FIN, teal's side is gone only once a write of the client's is refused.
    let closed = false;
    void c.closed.then(() => {
      closed = true;
    });
    await eventually(() => closed || (c.socket.write("x") && false), "teal to cut the connection", 5_000);
    const res = parseResponse(Buffer.from(c.received(), "latin1"));
    assert.equal(res?.status, 400);
    assert.equal(splitResponses(c.received()).length, 1, "nothing answered after the 400");
  });

  it("answers 408 to a request head that does not arrive within clientHeadersMs", async () => {
    const c = await rawConnection(port);
    c.socket.write("GET / HTTP/1.1\r\nHost: app.te");
    await c.closed;
    const res = parseResponse(Buffer.from(c.received(), "latin1"));
    assert.equal(res?.status, 408);
    assert.match(res.body, /took too long/);
  });

  it("closes a connection that sends nothing, without an answer", async () => {
    const c = await rawConnection(port);
    await c.closed;
    assert.equal(c.received(), "");
  });
});

describe("the proxy's connections, client and upstream", () => {
  it("leave no parser behind when they close", async () => {
    // Each answer closes its upstream connection, and each client sends one request and closes.
    const upstream = await startRawUpstream((socket) =>
      socket.on("data", () =>
        socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
      ),
    );
    const { plane, port } = await startDataPlane([serviceSpec("app", { blue: [upstream.url], green: [] })], {
      accessLog: false,
    });
    const request = async () => {
      const res = await sendRaw(port, "GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
      assert.equal(res?.body, "ok");
    };
    for (let i = 0; i < 1_000; i += 50) await Promise.all(Array.from({ length: 50 }, request));
    assert.equal(upstream.accepted, 1_000, "one upstream connection per request");
    const live = await liveParsers();
    assert.ok(live < 50, `${live} HTTP parsers still alive after 2,000 closed connections`);
    await plane.close(0);
    await upstream.close();
  });
});

describe("idle keep-alive connections on the proxy's HTTP/1.1 server", () => {
  // The fast engine's own economy, counted in the heap: in a node-http run, node:http's pool of
  // freed parsers (up to 1,000) sits in the same heap, so this runs in the fast-engine run only.
  const nodeHttpRun = !FAST && "counts the fast engine's parsers; node:http keeps a pool of its own";
  it("hold no parser while idle, and answer their next requests as before", {
    skip: nodeHttpRun,
  }, async () => {
    const backend = await startBackend("blue", (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => res.end(`${req.method} ${req.url} ${body}`));
    });
    // A 200 ms send timeout (these clients read everything) makes the server's sweep 50 ms: idle
    // connections let go of their parsers after 50-100 ms.
    const { plane, port } = await startDataPlane([serviceSpec("app", { blue: [backend.url], green: [] })], {
      accessLog: false,
      upstreamConnections: 8,
      timeouts: { ...testSettings.timeouts, clientSendMs: 200, idleMs: 60_000 },
    });
    const clients = await Promise.all(Array.from({ length: 200 }, () => rawConnection(port)));
    const responses = (c: { received: () => string }) => splitResponses(c.received()).length;
    for (const c of clients) c.socket.write("GET /first HTTP/1.1\r\nHost: app.test\r\n\r\n");
    await eventually(() => clients.every((c) => responses(c) === 1), "the first answers");
    // 200 connections open and idle: only the upstream pool's (at most 8) connections keep a parser.
    const { idle } = await eventually(async () => {
      const live = await liveParsers();
      return live <= 8 && { idle: live };
    }, "idle connections to let go of their parsers");
    // The next bytes: a head in pieces, a whole request, a pipelined pair, a body in pieces.
    const [pieces, whole, pipelined, body] = clients;
    pieces!.socket.write("GET /pie");
    await eventually(async () => (await liveParsers()) > idle, "a parser for the head's first piece");
    pieces!.socket.write("ces HTTP/1.1\r\nHost: app.test\r\n\r\n");
    whole!.socket.write("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n");
    pipelined!.socket.write(
      "GET /one HTTP/1.1\r\nHost: app.test\r\n\r\nPOST /two HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc",
    );
    body!.socket.write("POST /body HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\n\r\nhel");
    body!.socket.write("lo!");
    const bodyOf = (raw: string) => parseResponse(Buffer.from(raw, "latin1"))?.body;
    const answers = async (c: { received: () => string }, n: number) => {
      await eventually(() => responses(c) === n, "the answers");
      return splitResponses(c.received()).slice(1).map(bodyOf);
    };
    assert.deepEqual(await answers(whole!, 2), ["GET /again "]);
    assert.deepEqual(await answers(pipelined!, 3), ["GET /one ", "POST /two abc"]);
    assert.deepEqual(await answers(pieces!, 2), ["GET /pieces "]);
    assert.deepEqual(await answers(body!, 2), ["POST /body hello!"]);
    // Bad input after an idle spell is answered 400 and closes the connection, as on a fresh one.
    const bad = clients[4]!;
    bad.socket.write("NOT A REQUEST\r\n\r\n");
    await bad.closed;
    assert.match(splitResponses(bad.received())[1] ?? "", /^HTTP\/1\.1 400 /);
    for (const c of clients) c.socket.destroy();
    await plane.close(0);
    await backend.close();
  });
});

describe("the proxy's HTTP/1.1 server under mutated input", () => {
  it("lives through 1,500 connections of mangled, split and cut requests, and leaks no parser", async () => {
    let seed = 20261202; // a fixed seed: the same input on every run
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const backend = await startBackend("blue", (req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url === "/chunked") res.write("a"); // no length: node sends it chunked
        res.end(req.url === "/chunked" ? "b" : "ok");
      });
    });
    const internalErrors: unknown[] = [];
    const { plane, port } = await startDataPlane(
      [serviceSpec("app", { blue: [backend.url], green: [] })],
      {
        accessLog: false,
        timeouts: { ...testSettings.timeouts, clientKeepAliveMs: 500, clientHeadersMs: 500 },
      },
      { internalError: (err) => internalErrors.push(err) },
    );
    const templates = [
      "GET /a HTTP/1.1\r\nHost: app\r\n\r\n",
      "POST /b HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhello",
      "POST /chunked HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
      "GET /chunked HTTP/1.0\r\nHost: app\r\nConnection: keep-alive\r\n\r\n",
      "HEAD /a HTTP/1.1\r\nHost: app\r\n\r\n",
      "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      "POST /e HTTP/1.1\r\nHost: app\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    ];
    const mangled = () => {
      const bytes = Buffer.from(pick(templates), "latin1");
      for (let n = Math.floor(random() * 4); n > 0; n--) {
        bytes[Math.floor(random() * bytes.length)] =
          random() < 0.5 ? Math.floor(random() * 256) : pick([0, 10, 13, 32, 58]);
      }
      return bytes;
    };
    /** One connection: 1-3 requests, written in random pieces, maybe cut short, then closed one of four ways. */
    const connection = () =>
      new Promise<void>((resolve) => {
        const data = Buffer.concat(Array.from({ length: 1 + Math.floor(random() * 3) }, mangled));
        const end = random() < 0.3 ? Math.floor(random() * data.length) : data.length;
        const finish = pick(["destroy", "end", "reset", "end later"] as const);
        const socket = connect({ host: "127.0.0.1", port });
        socket.on("error", () => {});
        socket.on("close", () => resolve());
        socket.resume();
        socket.on("connect", () => {
          for (let at = 0; at < end; ) {
            const size = 1 + Math.floor(random() * 40);
            socket.write(data.subarray(at, Math.min(at + size, end)));
            at += size;
          }
          if (finish === "destroy") socket.destroy();
          else if (finish === "reset") socket.resetAndDestroy();
          else if (finish === "end") socket.end();
          else setTimeout(() => socket.end(), 20);
        });
      });
    for (let i = 0; i < 1_500; i += 30) await Promise.all(Array.from({ length: 30 }, connection));
    assert.deepEqual(internalErrors, []);
    const res = await sendRaw(port, "GET /after HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n");
    assert.equal(res?.body, "ok");
    // The fast engine's parsers: the upstream pool's open connections keep theirs. (node:http
    // keeps up to 1,000 freed parsers for reuse: nothing to count there.)
    if (FAST) {
      const live = await liveParsers();
      assert.ok(live <= testSettings.upstreamConnections + 10, `${live} HTTP parsers alive`);
    }
    await plane.close(0);
    await backend.close();
  });
});

/** HTTP parsers still in the heap (a parser never closed is held by its C++ half for ever). */
async function liveParsers(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve)); // parsers are closed on the next turn
  const session = new Session();
  session.connect();
  try {
    const { result } = await session.post("Runtime.evaluate", {
      expression: "globalThis.__tealParserPrototype",
    });
    const { objects } = await session.post("Runtime.queryObjects", { prototypeObjectId: result.objectId! });
    const count = await session.post("Runtime.callFunctionOn", {
      objectId: objects.objectId!,
      functionDeclaration: "function () { return this.length; }",
      returnByValue: true,
    });
    return count.result.value as number;
  } finally {
    session.disconnect();
  }
}

describe("closing the proxy's HTTP/1.1 server", () => {
  it("cuts an open WebSocket tunnel once the grace time is over", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(wss, "listening");
    wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data)));
    const backendUrl = `http://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const { plane, port } = await startDataPlane([serviceSpec("app", { blue: [backendUrl], green: [] })]);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: "app.test" } });
    await once(ws, "open");
    ws.send("ping");
    const [echo] = await once(ws, "message");
    assert.equal(String(echo), "ping");
    const wsClosed = once(ws, "close");
    await plane.close(50);
    await wsClosed;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
});
