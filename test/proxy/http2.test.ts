/**
 * HTTP/2 on proxy.tls's listener: real node:http2 clients that negotiate h2 by ALPN (trusting only
 * the openssl-made root), real HTTP/1.1 backends. Each stream must be routed, switched, overridden,
 * held, counted and logged like an HTTP/1.1 request, and flow-controlled on its own.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { validateConfig } from "../../src/config/load.ts";
import { isTealError } from "../../src/domain/errors.ts";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import type { AccessEntry } from "../../src/proxy/exchange.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type TestPki } from "../support/certs.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";

const BIG = 4 * 1024 * 1024;

/** Answers by path: /big (4 MB), /slow (when released), /hop (hop-by-hop headers), /trailers; else its name. */
function handler(release: { slow: (() => void)[] }) {
  return (req: IncomingMessage, res: ServerResponse, name: string) => {
    req.resume();
    const path = req.url ?? "/";
    if (path === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": BIG });
      res.end(Buffer.alloc(BIG, 7));
      return;
    }
    if (path === "/slow") {
      release.slow.push(() => res.end(name));
      res.writeHead(200, { "x-backend": name });
      res.write("");
      return;
    }
    if (path === "/hop") {
      res.writeHead(200, {
        connection: "keep-alive, x-private",
        "keep-alive": "timeout=5",
        "x-private": "hop",
        "x-backend": name,
      });
      res.end(name);
      return;
    }
    if (path === "/trailers") {
      res.writeHead(200, { "content-type": "application/grpc", trailer: "grpc-status" });
      res.write("data");
      res.addTrailers({ "grpc-status": "0", "grpc-message": "fine" });
      res.end();
      return;
    }
    req.on("end", () => {
      res.writeHead(200, { "x-backend": name, "set-cookie": ["a=1", "b=2"] });
      res.end(name);
    });
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

function read(stream: ClientHttp2Stream): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () =>
      resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks), trailers }),
    );
    stream.on("error", reject);
  });
}

describe("HTTP/2 on the TLS listener", () => {
  let pki: TestPki;
  let blue: Backend;
  let green: Backend;
  let proxy: { plane: DataPlane; generation: { next: () => number } };
  let tlsPort: number;
  let spec: ServiceSpec;
  let other: ServiceSpec;
  const release = { slow: [] as (() => void)[] };
  const log: AccessEntry[] = [];

  before(async () => {
    pki = await createPki();
    const leaf = await pki.leaf("app", ["app.test"]);
    blue = await startBackend("blue", handler(release));
    green = await startBackend("green", handler(release));
    spec = serviceSpec(
      "app",
      { blue: [blue.url], green: [green.url] },
      { routes: [{ host: "app.test", path: "/", stripPrefix: false }] },
    );
    other = serviceSpec(
      "other",
      { blue: [green.url], green: [green.url] },
      { routes: [{ host: "other.test", path: "/", stripPrefix: false }] },
    );
    proxy = await startDataPlane(
      [spec, other],
      { tls: { listen: "127.0.0.1:0", certificates: [leaf], hsts: false } },
      { accessLog: (entry) => log.push(entry) },
    );
    tlsPort = (proxy.plane.tlsAddress as AddressInfo).port;
  });

  after(async () => {
    await proxy.plane.close(0);
    await blue.close();
    await green.close();
    await pki.remove();
  });

  function session(): ClientHttp2Session {
    const s = connect(`https://app.test:${tlsPort}`, {
      ca: pki.root,
      host: "127.0.0.1",
      servername: "app.test",
      lookup: (_h, _o, cb) => cb(null, "127.0.0.1", 4),
    } as Parameters<typeof connect>[1]);
    s.on("error", () => {});
    return s;
  }

  function route(routing: Partial<ServiceSpec["routing"]>): void {
    spec = { ...spec, routing: { ...spec.routing, ...routing } };
    proxy.plane.apply({ generation: proxy.generation.next(), services: [spec, other] });
  }

  it("negotiates h2 by ALPN and routes each stream on :authority, to an HTTP/1.1 keep-alive upstream, logged as h2", async () => {
    const s = session();
    await once(s, "connect");
    assert.equal(s.alpnProtocol, "h2");
    const arrived = once(blue.server, "request") as Promise<[IncomingMessage]>;
    const answer = await read(s.request({ ":path": "/x?y=1", cookie: ["a=1", "b=2"], te: "trailers" }));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString(), "blue");
    assert.deepEqual(answer.headers["set-cookie"], ["a=1", "b=2"], "each Set-Cookie its own field");
    const [upstream] = await arrived;
    assert.equal(upstream.httpVersion, "1.1");
    assert.equal(upstream.url, "/x?y=1");
    assert.equal(upstream.headers.host, `app.test:${tlsPort}`, ":authority becomes Host");
    assert.equal(upstream.headers.cookie, "a=1; b=2", "HTTP/2's split Cookie joined into one");
    assert.equal(upstream.headers.te, undefined, "TE is hop-by-hop");
    assert.equal(upstream.headers["x-forwarded-proto"], "https");
    assert.ok(
      upstream.rawHeaders.every((name, i) => i % 2 === 1 || !name.startsWith(":")),
      "no pseudo-header reaches the upstream",
    );
    const again = once(blue.server, "request") as Promise<[IncomingMessage]>;
    await read(s.request({ ":path": "/again" }));
    assert.equal(
      (await again)[0].socket.remotePort,
      upstream.socket.remotePort,
      "the upstream connection kept alive",
    );
    const entry = log.find((e) => e.path === "/x?y=1");
    assert.equal(entry?.protocol, "h2");
    assert.equal(entry?.status, 200);
    s.close();
  });

  it("drops hop-by-hop response headers (and those Connection names) instead of failing the stream", async () => {
    const s = session();
    const answer = await read(s.request({ ":path": "/hop" }));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString(), "blue");
    assert.equal(answer.headers.connection, undefined);
    assert.equal(answer.headers["keep-alive"], undefined);
    assert.equal(answer.headers["x-private"], undefined);
    s.close();
  });

  it("refuses a CONNECT stream with 405 and TEAL_CONNECT, as over HTTP/1.1; the connection's other streams go on", async () => {
    const s = session();
    const refused = await read(s.request({ ":method": "CONNECT", ":authority": "app.test:443" }));
    assert.equal(refused.status, 405);
    assert.match(refused.body.toString(), /CONNECT is not supported/);
    const answer = await read(s.request({ ":path": "/" }));
    assert.equal(answer.status, 200);
    s.close();
  });

  it("switches, overrides and counts streams of one connection per color, like HTTP/1.1 requests", async () => {
    const s = session();
    const before = proxy.plane.status()[0]!.stats;
    const one = await read(s.request({ ":path": "/" }));
    const overridden = await read(s.request({ ":path": "/", "x-teal-color": "green" }));
    route({ live: "green", greenPercent: 100 });
    const switched = await read(s.request({ ":path": "/" }));
    assert.deepEqual(
      [one.body.toString(), overridden.body.toString(), switched.body.toString()],
      ["blue", "green", "green"],
    );
    const after = proxy.plane.status()[0]!.stats;
    const count = (c: typeof after.blue) => c.byClass.reduce((a, b) => a + b, 0);
    assert.equal(count(after.blue) - count(before.blue), 1);
    assert.equal(count(after.green) - count(before.green), 2);
    route({ live: "blue", greenPercent: 0 });
    s.close();
  });

  it("holds a stream while paused and lets it through on resume; a stream in flight finishes on the old color after a switch", async () => {
    const s = session();
    route({ paused: true });
    const held = read(s.request({ ":path": "/" }));
    // Streams of a connection are read in order: once a later one is answered, the first was held.
    await read(s.request({ ":path": "/", ":authority": "other.test" }));
    assert.equal(proxy.plane.status()[0]!.held, 1);
    route({ paused: false });
    assert.equal((await held).body.toString(), "blue");

    const slow = read(s.request({ ":path": "/slow" }));
    await new Promise<void>((resolve) => blue.server.once("request", () => setImmediate(resolve)));
    route({ live: "green", greenPercent: 100 });
    assert.equal((await read(s.request({ ":path": "/" }))).body.toString(), "green");
    release.slow.shift()!();
    const old = await slow;
    assert.equal(old.headers["x-backend"], "blue");
    assert.equal(old.body.toString(), "blue");
    route({ live: "blue", greenPercent: 0 });
    s.close();
  });

  it("flow-controls each stream: a stream its client does not read does not hold up the others", async () => {
    const s = session();
    await once(s, "connect");
    // A connection window big enough for both: what is tested is teal's side, per stream.
    s.setLocalWindowSize(8 * 1024 * 1024);
    const big = s.request({ ":path": "/big" });
    big.pause(); // not read: its 64 KiB stream window fills and teal must stop sending it
    await once(big, "response");
    const small = await read(s.request({ ":path": "/" }));
    assert.equal(small.body.toString(), "blue", "the other stream completes");
    // Now read the big one: all of it arrives.
    let bytes = 0;
    big.on("data", (c: Buffer) => (bytes += c.length));
    big.resume();
    await once(big, "end");
    assert.equal(bytes, BIG);
    s.close();
  });

  /** One HTTP/1.1 GET over TLS offering these ALPN protocols: the protocol chosen, the status line and the backend. */
  async function http1Over(
    port: number,
    alpn: string[] | undefined,
  ): Promise<[string | false | null, string]> {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      servername: "app.test",
      ca: pki.root,
      ...(alpn === undefined ? {} : { ALPNProtocols: alpn }),
    });
    socket.on("error", () => {});
    await once(socket, "secureConnect");
    socket.write("GET / HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n");
    let text = "";
    for await (const chunk of socket) text += chunk;
    return [
      socket.alpnProtocol,
      // The status line, and the backend's name from the (chunked) body.
      `${text.slice(0, text.indexOf("\r\n"))} ${/blue|green/.exec(text.slice(text.indexOf("\r\n\r\n")))?.[0]}`,
    ];
  }

  it("serves HTTP/1.1 on the same port to a client that offers only http/1.1, or no ALPN; one offering neither protocol is refused", async () => {
    assert.deepEqual(await http1Over(tlsPort, ["http/1.1"]), ["http/1.1", "HTTP/1.1 200 OK blue"]);
    assert.deepEqual(await http1Over(tlsPort, undefined), [false, "HTTP/1.1 200 OK blue"]);
    // Offered both (in either order), a client gets h2.
    const both = tlsConnect({
      host: "127.0.0.1",
      port: tlsPort,
      servername: "app.test",
      ca: pki.root,
      ALPNProtocols: ["http/1.1", "h2"],
    });
    await once(both, "secureConnect");
    assert.equal(both.alpnProtocol, "h2");
    both.destroy();
    await assert.rejects(
      http1Over(tlsPort, ["spdy/3"]),
      /no_application_protocol|no application protocol|ECONNRESET/i,
    );
    // The listener goes on serving.
    assert.deepEqual(await http1Over(tlsPort, ["http/1.1"]), ["http/1.1", "HTTP/1.1 200 OK blue"]);
  });

  it("with http2: false, answers every client in HTTP/1.1, whatever it offers", async () => {
    const leaf = await pki.leaf("h1only", ["app.test"]);
    const h1 = await startDataPlane([spec, other], {
      tls: { listen: "127.0.0.1:0", certificates: [leaf], hsts: false, http2: false },
    });
    try {
      const port = (h1.plane.tlsAddress as AddressInfo).port;
      assert.deepEqual(await http1Over(port, ["h2", "http/1.1"]), ["http/1.1", "HTTP/1.1 200 OK blue"]);
      assert.deepEqual(await http1Over(port, undefined), [false, "HTTP/1.1 200 OK blue"]);
    } finally {
      await h1.plane.close(0);
    }
  });

  it("proxy.tls.http2: defaults when left out, false turns it off, a bad limit is refused naming the field", () => {
    const check = (http2: unknown) => {
      const tls = {
        certificates: [{ cert: "/a.pem", key: "/a.key" }],
        ...(http2 === undefined ? {} : { http2 }),
      };
      try {
        return validateConfig({ proxy: { tls }, services: {} }).proxy.tls?.http2;
      } catch (err) {
        assert.ok(isTealError(err) && err.code === "CONFIG_INVALID");
        return err.message;
      }
    };
    assert.deepEqual(check(undefined), {
      maxConcurrentStreams: 100,
      maxResetsPerSecond: 100,
      maxSessionMemoryMb: 10,
      maxHeaderPairs: 100,
    });
    assert.equal(check(false), false);
    assert.match(String(check({ maxConcurrentStreams: 0 })), /proxy\.tls\.http2\.maxConcurrentStreams/);
    assert.match(String(check({ maxStreams: 5 })), /proxy\.tls\.http2/);
  });
});
