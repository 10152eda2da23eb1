/**
 * proxy.tls: the HTTPS listener. Real certificates from openssl (a root, an intermediate, leafs
 * for two hosts), real handshakes from node:tls clients that trust the root only, real backends.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFile, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { type AddressInfo, createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type PeerCertificate } from "node:tls";
import { WebSocket, WebSocketServer } from "ws";
import { validateConfig } from "../../src/config/load.ts";
import { isTealError } from "../../src/domain/errors.ts";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { Certificates } from "../../src/proxy/tls/certificates.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import type { TlsSettings } from "../../src/traffic/tls.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type Leaf, type TestPki } from "../support/certs.ts";
import { serviceSpec, startDataPlane, testSettings } from "../support/data-plane.ts";
import { runCli, tempDir } from "../support/teal-process.ts";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cert: PeerCertificate;
  localPort: number;
}

describe("proxy.tls", () => {
  let pki: TestPki;
  let a: Leaf;
  let b: Leaf;
  let blue: Backend;
  let green: Backend;
  let proxy: { plane: DataPlane; url: string; port: number; generation: { next: () => number } };
  let tlsPort: number;
  let spec: ServiceSpec;
  const reloads: (() => void)[] = [];
  const warnings: ((message: string) => void)[] = [];

  before(async () => {
    pki = await createPki();
    a = await pki.leaf("a", ["a.test"]);
    b = await pki.leaf("b", ["b.test", "*.b.test"]);
    // The files teal serves for a.test: copies, so a test can replace them.
    await copyFile(a.cert, join(pki.dir, "served.pem"));
    await copyFile(a.key, join(pki.dir, "served.key"));
    blue = await startBackend("blue");
    green = await startBackend("green");
    spec = serviceSpec(
      "app",
      { blue: [blue.url], green: [green.url] },
      {
        routes: [
          { host: "app.test", path: "/secure", stripPrefix: false, redirectHttps: true },
          { path: "/", stripPrefix: false },
        ],
      },
    );
    const tls: TlsSettings = {
      listen: "127.0.0.1:0",
      certificates: [
        {
          cert: join(pki.dir, "served.pem"),
          key: join(pki.dir, "served.key"),
          hosts: ["a.test", "app.test"],
        },
        { cert: b.cert, key: b.key },
      ],
      hsts: { maxAge: 600, includeSubDomains: true },
    };
    proxy = await startDataPlane(
      [spec],
      { tls },
      {
        certificatesReloaded: () => reloads.shift()?.(),
        warning: (m) => warnings.shift()?.(m),
      },
    );
    tlsPort = (proxy.plane.tlsAddress as AddressInfo).port;
  });

  after(async () => {
    await proxy.plane.close(0);
    await blue.close();
    await green.close();
    await pki.remove();
  });

  function https(
    servername: string | undefined,
    options: { path?: string; headers?: Record<string, string>; agent?: Agent; method?: string } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: tlsPort,
          path: options.path ?? "/",
          method: options.method ?? "GET",
          // With an IP host node sends no SNI; servername asks for one.
          ...(servername === undefined ? {} : { servername }),
          ca: pki.root,
          // Without SNI the name to verify is the default certificate's. Not with a keep-alive
          // agent: Node 24's agent never reuses a socket for a request with its own check.
          ...(options.agent === undefined ? { checkServerIdentity: () => undefined } : {}),
          headers: { host: servername ?? "a.test", ...options.headers },
          agent: options.agent ?? false,
        },
        (res) => {
          const cert = (res.socket as import("node:tls").TLSSocket).getPeerCertificate();
          const localPort = res.socket.localPort ?? 0;
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (body += c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert, localPort }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  function plain(
    path: string,
    host: string,
    method = "GET",
  ): Promise<{ status: number; headers: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port: proxy.port, path, method, headers: { host } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        },
      );
      req.on("error", reject);
      req.end(method === "POST" ? "body" : undefined);
    });
  }

  it("chooses the certificate by SNI, serves its chain (the client trusts only the root), and the first certificate without SNI", async () => {
    const forA = await https("a.test");
    assert.equal(forA.status, 200);
    assert.equal(forA.cert.subject.CN, "a.test");
    const forB = await https("b.test");
    assert.equal(forB.cert.subject.CN, "b.test");
    const wildcard = await https("x.b.test");
    assert.equal(wildcard.cert.subject.CN, "b.test", "a *.b.test name from the certificate's SANs");
    const deeper = await https("y.x.b.test");
    assert.equal(deeper.cert.subject.CN, "a.test", "a wildcard covers one label only: the default answers");
    const none = await https(undefined);
    assert.equal(none.cert.subject.CN, "a.test");
  });

  it("refuses TLS 1.1 and TLS 1.2 suites without forward secrecy or AEAD", async () => {
    const handshake = (options: { maxVersion?: "TLSv1.1" | "TLSv1.2"; ciphers?: string }) =>
      new Promise<string>((resolve) => {
        const socket = connect({
          host: "127.0.0.1",
          port: tlsPort,
          servername: "a.test",
          ca: pki.root,
          minVersion: "TLSv1",
          ...options,
        });
        socket.on("secureConnect", () => {
          resolve(`ok ${socket.getProtocol()}`);
          socket.destroy();
        });
        socket.on("error", (err) => resolve(`refused ${(err as NodeJS.ErrnoException).code}`));
      });
    assert.match(await handshake({ maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }), /^refused/);
    assert.match(
      await handshake({ maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384" }),
      /^refused/,
    );
    assert.equal(await handshake({ maxVersion: "TLSv1.2" }), "ok TLSv1.2");
    assert.equal(await handshake({}), "ok TLSv1.3");
  });

  it("tells the app X-Forwarded-Proto: https, whatever an untrusted client claims, and sends HSTS over TLS only", async () => {
    const arrived = once(blue.server, "request") as Promise<[IncomingMessage]>;
    const answer = await https("a.test", { headers: { "x-forwarded-proto": "http" } });
    assert.equal((await arrived)[0].headers["x-forwarded-proto"], "https");
    assert.equal(answer.headers["strict-transport-security"], "max-age=600; includeSubDomains");
    const overPlain = await plain("/", "a.test");
    assert.equal(overPlain.status, 200);
    assert.equal(overPlain.headers["strict-transport-security"], undefined);
  });

  it("redirects a redirectHttps route from plain HTTP: 301 for GET, 308 for POST, path and query kept; other routes stay plain", async () => {
    const get = await plain("/secure/page?x=1", "app.test");
    assert.equal(get.status, 301);
    assert.equal(get.headers.location, `https://app.test:${tlsPort}/secure/page?x=1`);
    const post = await plain("/secure/form", "app.test:8080", "POST");
    assert.equal(post.status, 308);
    assert.equal(post.headers.location, `https://app.test:${tlsPort}/secure/form`);
    assert.equal((await plain("/other", "app.test")).status, 200);
    const overTls = await https("app.test", { path: "/secure/page" });
    assert.equal(overTls.status, 200, "over TLS the route is served");
  });

  it("switches colors and honours the override over TLS as over plain HTTP", async () => {
    assert.equal((await https("a.test")).body, "blue");
    assert.equal((await https("a.test", { headers: { "x-teal-color": "green" } })).body, "green");
    spec = { ...spec, routing: { ...spec.routing, live: "green", greenPercent: 100 } };
    proxy.plane.apply({ generation: proxy.generation.next(), services: [spec] });
    assert.equal((await https("a.test")).body, "green");
    spec = { ...spec, routing: { ...spec.routing, live: "blue", greenPercent: 0 } };
    proxy.plane.apply({ generation: proxy.generation.next(), services: [spec] });
    assert.equal((await https("a.test")).body, "blue");
  });

  it("upgrades a WebSocket over TLS", async () => {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(server, "listening");
    server.on("connection", (s) => s.on("message", (d) => s.send(`ws: ${d}`)));
    const wsSpec = serviceSpec(
      "ws",
      {
        blue: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
        green: [],
      },
      { routes: [{ host: "ws.test", path: "/", stripPrefix: false }] },
    );
    proxy.plane.apply({ generation: proxy.generation.next(), services: [spec, wsSpec] });
    try {
      // servername reaches tls.connect through ws's options (its type leaves it out).
      const options = { servername: "b.test", ca: pki.root, headers: { host: "ws.test" } };
      const socket = new WebSocket(`wss://127.0.0.1:${tlsPort}/`, options);
      await once(socket, "open");
      const reply = once(socket, "message");
      socket.send("hello");
      assert.equal(String((await reply)[0]), "ws: hello");
      socket.close();
    } finally {
      proxy.plane.apply({ generation: proxy.generation.next(), services: [spec] });
      for (const c of server.clients) c.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("reloads changed certificate files for new handshakes without dropping an open connection", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await https("a.test", { agent });
      assert.equal(before.cert.subject.CN, "a.test");
      // The renewal: the same names, now with b's certificate (as a new certificate would be).
      const reloaded = new Promise<void>((resolve) => reloads.push(resolve));
      await copyFile(b.key, join(pki.dir, "served.key"));
      await copyFile(b.cert, join(pki.dir, "served.pem"));
      await reloaded;
      const again = await https("a.test", { agent });
      assert.equal(again.status, 200);
      assert.equal(again.localPort, before.localPort, "the same connection, still open");
      const fresh = await https("a.test");
      assert.equal(fresh.cert.subject.CN, "b.test", "a new handshake gets the new certificate");
      assert.equal((await https(undefined)).cert.subject.CN, "b.test", "the default context too");
      // A half-written renewal keeps the certificates in force and says so.
      const outcome = new Promise<string>((resolve) => {
        reloads.push(() => resolve("reloaded"));
        warnings.push(resolve);
      });
      await writeFile(join(pki.dir, "served.pem"), "-----BEGIN CERTIFICATE-----\nnot yet\n");
      assert.match(await outcome, /not reloaded.*served\.pem is not a PEM certificate/);
      assert.equal((await https("a.test")).cert.subject.CN, "b.test");
      reloads.length = 0;
      await copyFile(b.cert, join(pki.dir, "served.pem"));
    } finally {
      agent.destroy();
    }
  });

  it("refuses certificates that cannot be served: CONFIG_INVALID naming the field and the file", async () => {
    const tryLoad = (cert: string, key: string) => {
      try {
        new Certificates({ listen: "127.0.0.1:0", certificates: [{ cert, key }], hsts: false });
        return "loaded";
      } catch (err) {
        assert.ok(isTealError(err) && err.code === "CONFIG_INVALID", String(err));
        return err.message;
      }
    };
    const missing = join(pki.dir, "missing.pem");
    assert.match(
      tryLoad(missing, a.key),
      new RegExp(`proxy\\.tls\\.certificates\\[0\\]\\.cert: cannot read ${missing} \\(ENOENT\\)`),
    );
    assert.match(
      tryLoad(a.cert, b.key),
      /certificates\[0\]\.key: .*b\.key is not the key of the certificate in .*a\.pem/,
    );
    const bad = join(pki.dir, "bad.pem");
    await writeFile(bad, "hello\n");
    assert.match(tryLoad(bad, a.key), /certificates\[0\]\.cert: .*bad\.pem is not a PEM certificate/);
    assert.match(tryLoad(a.cert, bad), /certificates\[0\]\.key: .*bad\.pem is not a PEM private key/);
  });

  it("teal server exits 2 with CONFIG_INVALID when a certificate file is missing", async () => {
    const dir = await tempDir();
    try {
      const config = join(dir.path, "teal.yaml");
      await writeFile(
        config,
        [
          "proxy:",
          "  listen: 127.0.0.1:0",
          "  tls:",
          "    listen: 127.0.0.1:0",
          "    certificates:",
          `      - { cert: ${join(pki.dir, "nope.pem")}, key: ${a.key} }`,
          "admin: { listen: 127.0.0.1:0 }",
          "",
        ].join("\n"),
      );
      const result = await runCli(["server", "-c", config, "-d", join(dir.path, "data")]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /proxy\.tls\.certificates\[0\]\.cert: cannot read .*nope\.pem \(ENOENT\).*\[CONFIG_INVALID\]/,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    } finally {
      await dir.remove();
    }
  });

  it("refuses redirectHttps without proxy.tls, and a relative certificate path, naming the field", () => {
    const problems = (raw: unknown) => {
      try {
        validateConfig(raw);
        return "valid";
      } catch (err) {
        assert.ok(isTealError(err) && err.code === "CONFIG_INVALID");
        return err.message;
      }
    };
    const service = {
      runtime: { type: "static" },
      blue: ["http://127.0.0.1:9001"],
      routes: [{ path: "/", redirectHttps: true }],
    };
    assert.match(
      problems({ services: { app: service } }),
      /services\.app\.routes\[0\]\.redirectHttps: needs an HTTPS listener .*configure proxy\.tls/,
    );
    assert.match(
      problems({
        proxy: { tls: { certificates: [{ cert: "app.pem", key: "/k.pem" }] } },
        services: { app: service },
      }),
      /proxy\.tls\.certificates\[0\]\.cert: must be an absolute path/,
    );
    assert.equal(
      problems({
        proxy: { tls: { certificates: [{ cert: "/a.pem", key: "/a.key" }] } },
        services: { app: service },
      }),
      "valid",
    );
  });

  it("cuts a client that stalls its handshake at clientHeadersMs, survives garbage on the TLS port, and goes on serving", async () => {
    const quick = await startDataPlane([spec], {
      tls: { listen: "127.0.0.1:0", certificates: [{ cert: a.cert, key: a.key }], hsts: false },
      timeouts: { ...testSettings.timeouts, clientHeadersMs: 300 },
    });
    try {
      const port = (quick.plane.tlsAddress as AddressInfo).port;
      const started = performance.now();
      const stalled = createConnection({ host: "127.0.0.1", port });
      stalled.on("error", () => {});
      await once(stalled, "close");
      const waited = performance.now() - started;
      assert.ok(waited >= 250 && waited < 5_000, `closed after ${waited} ms`);
      const garbage = createConnection({ host: "127.0.0.1", port });
      garbage.on("error", () => {});
      garbage.write("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
      await once(garbage, "close");
      const ok = await new Promise<number>((resolve, reject) => {
        httpsRequest(
          {
            host: "127.0.0.1",
            port,
            servername: "a.test",
            ca: pki.root,
            headers: { host: "a.test" },
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
          .on("error", reject)
          .end();
      });
      assert.equal(ok, 200);
    } finally {
      await quick.plane.close(0);
    }
  });
});
