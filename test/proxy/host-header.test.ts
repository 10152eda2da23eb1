/** The Host header (RFC 9112 section 3.2): one valid host[:port], or 400 before any routing. */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { isValidHost } from "../../src/proxy/http1/host-header.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { sendRaw } from "../support/raw-client.ts";

describe("a request's Host header", () => {
  let backend: Backend;
  let plane: DataPlane;
  let port: number;
  const clientErrors: string[] = [];

  before(async () => {
    backend = await startBackend("app");
    // A route for any host: a bad Host would be served if teal did not refuse it first.
    ({ plane, port } = await startDataPlane(
      [
        serviceSpec(
          "app",
          { blue: [backend.url], green: [] },
          {
            routes: [
              { host: "app.test", path: "/", stripPrefix: false },
              { path: "/", stripPrefix: false },
            ],
          },
        ),
      ],
      {},
      { clientError: (code) => clientErrors.push(code) },
    ));
  });

  after(async () => {
    await plane.close(0);
    await backend.close();
  });

  function request(hostLines: string[], requestLine = "GET / HTTP/1.1"): string {
    return `${[requestLine, ...hostLines, "Connection: close"].join("\r\n")}\r\n\r\n`;
  }

  it("gets 400 when it is sent twice, even when both are the same, and nothing reaches the upstream", async () => {
    const before = backend.seen.length;
    for (const hosts of [
      ["Host: app.test", "Host: evil.test"],
      ["Host: app.test", "Host: app.test"],
      ["Host: app.test", "X-Other: 1", "host: APP.TEST"],
    ]) {
      const res = await sendRaw(port, request(hosts));
      assert.equal(res?.status, 400, hosts.join(" / "));
      assert.match(res.body, /only one Host header/);
    }
    // RFC 9112 says "any request message": HTTP/1.0 too.
    const old = await sendRaw(port, request(["Host: app.test", "Host: evil.test"], "GET / HTTP/1.0"));
    assert.equal(old?.status, 400);
    assert.equal(backend.seen.length, before);
    assert.ok(clientErrors.includes("TEAL_DUPLICATE_HOST"));
  });

  it("gets 400 when it is not host[:port], and nothing reaches the upstream", async () => {
    const before = backend.seen.length;
    for (const host of [
      "app.test, evil.test",
      "app.test evil.test",
      "user@app.test",
      "app.test:65536",
      "app.test:99999999",
      "app.test:80x",
      "app.test:80:80",
      "app.test/path",
      "[::1",
      "[not-an-ip]:80",
      "[::1]x",
      "app.t\u00e9st",
    ]) {
      const res = await sendRaw(port, Buffer.from(request([`Host: ${host}`]), "latin1"));
      assert.equal(res?.status, 400, host);
      assert.match(res.body, /Host header must be host\[:port\]/);
    }
    assert.equal(backend.seen.length, before);
    assert.ok(clientErrors.includes("TEAL_INVALID_HOST"));
  });

  it("gets 400 on an Upgrade request with two Hosts: the tunnel is never opened", async () => {
    const before = backend.seen.length;
    const res = await sendRaw(
      port,
      request(["Host: app.test", "Host: evil.test", "Upgrade: websocket", "Connection: Upgrade"]),
    );
    assert.equal(res?.status, 400);
    assert.equal(backend.seen.length, before);
  });

  it("is served when it is a name, an IPv4 or a bracketed IPv6 address, with or without a port", async () => {
    for (const host of [
      "app.test",
      "APP.test:8080",
      "app.test.",
      "127.0.0.1:65535",
      "[::1]:80",
      "[::1]",
      "a_b~c",
    ]) {
      const res = await sendRaw(port, request([`Host: ${host}`]));
      assert.equal(res?.status, 200, host);
      const upstream = backend.seen.at(-1)!;
      assert.equal(upstream.headers["x-forwarded-host"], host, "X-Forwarded-Host is the Host routed on");
    }
  });
});

describe("the Host check", () => {
  it("accepts the forms RFC 9112 allows that teal routes on, and the empty Host", () => {
    for (const v of [
      "",
      "a",
      "app.example.com",
      "app.example.com:443",
      "10.0.0.1:0",
      "[2001:db8::1]:8443",
      "x:",
    ]) {
      assert.equal(isValidHost(v), true, v);
    }
  });

  it("refuses what is not one host and port", () => {
    for (const v of [
      " ",
      "a b",
      "a,b",
      "a;b",
      "a@b",
      "a:b",
      ":",
      "a:123456",
      "a:65536",
      "[]",
      "[v1.x]",
      "a%20b",
    ]) {
      assert.equal(isValidHost(v), false, v);
    }
  });
});
