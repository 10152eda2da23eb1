/**
 * Idle keep-alive connections on the fast engine's HTTP/1.1 server park (src/proxy/http1/park.ts):
 * they hold no net.Socket while idle, only its TCP handle. Seen from a client, nothing changes:
 * the next request (whole, in pieces, pipelined, with a body) is answered, an end or a reset
 * closes the connection, the keep-alive timeout and the server's close still close it, and a
 * parked connection still counts against the cap on client connections.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { Session } from "node:inspector/promises";
import { type AddressInfo, connect, Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import type { ServerHandlers, ServerOptions } from "../../src/proxy/engine.ts";
import { Http1Server } from "../../src/proxy/http1/server.ts";
import { eventually } from "../support/eventually.ts";

(globalThis as { __tealSocketPrototype?: object }).__tealSocketPrototype = Socket.prototype;

/** Sockets a server accepted (a client's have no server) still in the heap, after a full GC. */
async function liveServerSockets(): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    const { result } = await session.post("Runtime.evaluate", {
      expression: "globalThis.__tealSocketPrototype",
    });
    const { objects } = await session.post("Runtime.queryObjects", { prototypeObjectId: result.objectId! });
    const counted = await session.post("Runtime.callFunctionOn", {
      objectId: objects.objectId!,
      functionDeclaration: "function () { return this.filter((s) => s.server != null).length; }",
      returnByValue: true,
    });
    return counted.result.value as number;
  } finally {
    session.disconnect();
  }
}

// What a test opened, closed after it whether it passed or not.
const opened: Socket[] = [];
const servers: Http1Server[] = [];

/** A server answering every request with its method, target and body, as teal's proxy would relay them. */
async function startServer(options: Partial<ServerOptions> = {}) {
  const refused: Error[] = [];
  const problems: unknown[] = [];
  const handlers: ServerHandlers = {
    request(req, res) {
      const parts: Buffer[] = [];
      const answer = () => {
        const body = Buffer.from(`${req.method} ${req.url} ${Buffer.concat(parts).toString()}`);
        res.writeHead(200, undefined, ["content-length", String(body.length)]);
        res.end(body);
      };
      if (req.body === null) answer();
      else {
        req.body.on("data", (chunk: Buffer) => parts.push(chunk));
        req.body.on("end", answer);
      }
    },
    upgrade: (_req, socket) => socket.destroy(),
    clientError: () => {},
    acceptError: (err) => refused.push(err),
    internalError: (err) => problems.push(err),
  };
  const server = new Http1Server(
    {
      maxHeaderBytes: 16_384,
      keepAliveTimeoutMs: 60_000,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      sendTimeoutMs: 200, // a 50 ms sweep: idle connections park within 100 ms
      maxConnections: undefined,
      ...options,
    },
    handlers,
  );
  servers.push(server);
  const { port } = (await server.listen({ host: "127.0.0.1", port: 0 })) as AddressInfo;
  return { server, port, refused, problems };
}

interface Client {
  socket: Socket;
  received: () => string;
  answers: () => string[];
  closed: Promise<void>;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ host: "127.0.0.1", port });
  opened.push(socket);
  socket.on("error", () => {});
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await once(socket, "connect");
  const received = () => Buffer.concat(chunks).toString("latin1");
  // The bodies of the answers, in order (every answer has a Content-Length).
  const answers = () => {
    const out: string[] = [];
    const raw = received();
    for (let at = 0; at < raw.length; ) {
      const end = raw.indexOf("\r\n\r\n", at);
      if (end < 0) break;
      const length = Number(/content-length: (\d+)/i.exec(raw.slice(at, end))?.[1] ?? 0);
      if (raw.length < end + 4 + length) break;
      out.push(raw.slice(end + 4, end + 4 + length));
      at = end + 4 + length;
    }
    return out;
  };
  return { socket, received, answers, closed };
}

/** Clients that sent one request each and got its answer: then idle. */
async function idleClients(port: number, n: number): Promise<Client[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => client(port)));
  for (const c of clients) c.socket.write("GET /first HTTP/1.1\r\nHost: app.test\r\n\r\n");
  await eventually(() => clients.every((c) => c.answers().length === 1), "the first answers");
  return clients;
}

describe("idle keep-alive connections on the fast engine's HTTP/1.1 server", () => {
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => server.close(0)));
  });

  it("hold no socket while idle, and answer their next requests as before", async () => {
    const { server, port, problems } = await startServer();
    const clients = await idleClients(port, 100);
    await eventually(
      async () => (await liveServerSockets()) === 0,
      "idle connections to let go of their sockets",
    );
    const [whole, pieces, pipelined, body, bad, ended, reset] = clients as [
      Client,
      Client,
      Client,
      Client,
      Client,
      Client,
      Client,
    ];
    whole.socket.write("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n");
    pieces.socket.write("GET /pie");
    await eventually(async () => (await liveServerSockets()) > 0, "a socket for the head's first piece");
    pieces.socket.write("ces HTTP/1.1\r\nHost: app.test\r\n\r\n");
    pipelined.socket.write(
      "GET /one HTTP/1.1\r\nHost: app.test\r\n\r\nPOST /two HTTP/1.1\r\nHost: app.test\r\nContent-Length: 3\r\n\r\nabc",
    );
    body.socket.write("POST /body HTTP/1.1\r\nHost: app.test\r\nContent-Length: 6\r\n\r\nhel");
    body.socket.write("lo!");
    const next = async (c: Client, n: number) => {
      await eventually(() => c.answers().length === n, "the answers");
      return c.answers().slice(1);
    };
    assert.deepEqual(await next(whole, 2), ["GET /again "]);
    assert.deepEqual(await next(pieces, 2), ["GET /pieces "]);
    assert.deepEqual(await next(pipelined, 3), ["GET /one ", "POST /two abc"]);
    assert.deepEqual(await next(body, 2), ["POST /body hello!"]);
    // Bad input after an idle spell is answered 400 and closes the connection, as on a fresh one.
    bad.socket.write("NOT A REQUEST\r\n\r\n");
    await bad.closed;
    assert.match(bad.received().slice(bad.received().indexOf("HTTP/1.1", 10)), /^HTTP\/1\.1 400 /);
    // A client that ends or resets a parked connection: the server closes its side.
    ended.socket.end();
    await ended.closed;
    reset.socket.resetAndDestroy();
    await reset.closed;
    // Parked again once idle, and answered again after that.
    await eventually(async () => (await liveServerSockets()) === 0, "the connections to park again");
    whole.socket.write("GET /third HTTP/1.1\r\nHost: app.test\r\n\r\n");
    assert.deepEqual(await next(whole, 3), ["GET /again ", "GET /third "]);
    // Closing the server closes every parked connection, and waits for none of them.
    const open = clients.filter((c) => c.socket.readyState === "open");
    await server.close(5_000);
    await Promise.all(open.map((c) => c.closed));
    assert.deepEqual(problems, []);
  });

  it("close a parked connection at the keep-alive timeout", async () => {
    const { server, port } = await startServer({ keepAliveTimeoutMs: 300, sendTimeoutMs: 10_000 });
    const [c] = await idleClients(port, 1);
    const answered = performance.now();
    await eventually(async () => (await liveServerSockets()) === 0, "the connection to park");
    await c!.closed;
    const idle = performance.now() - answered;
    // 300 ms, plus the second a `timeout=0` advertisement does not add (sub-second), plus a sweep.
    assert.ok(idle >= 290, `closed ${idle.toFixed(0)} ms after the answer`);
    await server.close(1_000);
  });

  it("handed over (a takeover): answer their next request with Connection: close, and the close waits for them", {
    timeout: 30_000,
  }, async () => {
    const { server, port, problems } = await startServer({ keepAliveTimeoutMs: 60_000 });
    const clients = await idleClients(port, 3);
    await eventually(async () => (await liveServerSockets()) === 0, "the connections to park");
    // The new process has the listening socket now: this one finishes what it holds, then closes.
    let closed = false;
    const closing = server.close(60_000, true).then(() => {
      closed = true;
    });
    const [asks, ends, stays] = clients as [Client, Client, Client];
    asks.socket.write("GET /last HTTP/1.1\r\nHost: app.test\r\n\r\n");
    await asks.closed;
    const last = asks.received().slice(asks.received().indexOf("HTTP/1.1", 10));
    assert.match(last, /^HTTP\/1\.1 200 /);
    assert.match(last, /\r\nconnection: close\r\n/i);
    ends.socket.end();
    await ends.closed;
    assert.equal(closed, false, "a parked connection is still open: the close waits for it");
    stays.socket.write("GET /late HTTP/1.1\r\nHost: app.test\r\n\r\n");
    await stays.closed;
    await closing; // no connection left: the server's close ends (the old teal then exits)
    assert.deepEqual(problems, []);
  });

  it("still count against the cap on client connections", async () => {
    const { server, port, refused } = await startServer({ maxConnections: 3 });
    const clients = await idleClients(port, 3);
    await eventually(async () => (await liveServerSockets()) === 0, "the connections to park");
    // A fourth connection is one too many, parked ones included: closed at once, reported.
    const extra = await client(port);
    await extra.closed;
    assert.equal(extra.received(), "");
    assert.equal(refused.length, 1);
    // Once a parked one is closed, there is room again.
    clients[0]!.socket.destroy();
    await eventually(async () => {
      const c = await client(port);
      c.socket.write("GET /room HTTP/1.1\r\nHost: app.test\r\n\r\n");
      await Promise.race([once(c.socket, "data"), c.closed]);
      c.socket.destroy();
      return c.received().startsWith("HTTP/1.1 200 ");
    }, "a connection to get through");
    for (const c of clients) c.socket.destroy();
    await server.close(1_000);
  });
});
