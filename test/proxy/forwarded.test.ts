/**
 * Who the client is: the forwarded headers the upstream gets, and the address the override's
 * allowFrom is matched against, from an untrusted peer and from a proxy in trustedProxies.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get } from "../support/http.ts";
import { sendRaw } from "../support/raw-client.ts";

const SPOOF = {
  "x-forwarded-for": "198.51.100.9",
  "x-real-ip": "198.51.100.9",
  "true-client-ip": "198.51.100.9",
  forwarded: "for=198.51.100.9",
  "x-forwarded-proto": "https",
  "x-forwarded-host": "spoofed.example",
};

describe("the forwarded headers the upstream gets", () => {
  let backend: Backend;
  let direct: { plane: DataPlane; url: string };
  let behindProxy: { plane: DataPlane; url: string };

  before(async () => {
    backend = await startBackend("blue");
    const services = [serviceSpec("app", { blue: [backend.url], green: [] })];
    direct = await startDataPlane(services);
    behindProxy = await startDataPlane(services, { trustedProxies: ["127.0.0.1", "10.0.0.0/8"] });
  });

  after(async () => {
    await direct.plane.close(0);
    await behindProxy.plane.close(0);
    await backend.close();
  });

  async function upstreamHeaders(url: string, headers: Record<string, string>) {
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage]>;
    await get(`${url}/`, { host: "app.test", ...headers });
    return (await arrived)[0].headers;
  }

  it("from a client that is not a trusted proxy: every client-sent forwarded header is replaced or dropped", async () => {
    const h = await upstreamHeaders(direct.url, SPOOF);
    assert.equal(h["x-forwarded-for"], "127.0.0.1");
    assert.equal(h["x-real-ip"], "127.0.0.1");
    assert.equal(h["true-client-ip"], undefined);
    assert.equal(h.forwarded, undefined);
    assert.equal(h["x-forwarded-proto"], "http");
    assert.equal(h["x-forwarded-host"], "app.test");
  });

  it("from a trusted proxy: its chain is kept, the peer appended, and X-Real-IP is the rightmost untrusted address", async () => {
    const h = await upstreamHeaders(behindProxy.url, {
      "x-forwarded-for": "192.0.2.1, 203.0.113.7, 10.0.0.2",
      "x-real-ip": "192.0.2.1",
      "true-client-ip": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "other.example",
    });
    assert.equal(h["x-forwarded-for"], "192.0.2.1, 203.0.113.7, 10.0.0.2, 127.0.0.1");
    assert.equal(h["x-real-ip"], "203.0.113.7", "192.0.2.1 was written by the client itself");
    assert.equal(h["true-client-ip"], "203.0.113.7");
    assert.equal(h["x-forwarded-proto"], "https");
    assert.equal(h["x-forwarded-host"], "app.test", "X-Forwarded-Host is the Host teal routed on");
  });

  it("from a trusted proxy, reads X-Forwarded-For entries with ports and repeated header lines", async () => {
    const arrived = once(backend.server, "request") as Promise<[IncomingMessage]>;
    await sendRaw(
      Number(new URL(behindProxy.url).port),
      "GET / HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: [2001:db8::5]:4711\r\nX-Forwarded-For: 10.0.0.9:80\r\nConnection: close\r\n\r\n",
    );
    const [req] = await arrived;
    assert.equal(req.headers["x-real-ip"], "2001:db8::5");
  });
});

describe("the override header's allowFrom, matched against the real client", () => {
  let blue: Backend;
  let green: Backend;
  const planes: DataPlane[] = [];

  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
  });

  after(async () => {
    await Promise.all(planes.map((p) => p.close(0)));
    await Promise.all([blue.close(), green.close()]);
  });

  async function plane(trustedProxies: string[], extra: Partial<ServiceSpec> = {}): Promise<string> {
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] }, extra);
    const started = await startDataPlane([spec], { trustedProxies });
    planes.push(started.plane);
    return started.url;
  }

  /** The color that served a request asking for green (blue is live). */
  async function colorFor(url: string, forwardedFor?: string): Promise<string> {
    const headers: Record<string, string> = { "x-teal-color": "green" };
    if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor;
    return (await get(`${url}/`, headers)).body;
  }

  it("behind a trusted loopback proxy, the default allowFrom (loopback) refuses an internet client", async () => {
    const url = await plane(["127.0.0.1"]);
    assert.equal(await colorFor(url, "203.0.113.7"), "blue");
  });

  it("behind a trusted proxy, admits a client whose real address is in allowFrom, and not one that spoofs it", async () => {
    const url = await plane(["127.0.0.1"], {
      override: { header: "x-teal-color", allowFrom: ["198.51.100.0/24"] },
    });
    assert.equal(await colorFor(url, "198.51.100.9"), "green");
    assert.equal(await colorFor(url, "198.51.100.9, 203.0.113.7"), "blue", "the client wrote the left entry");
  });

  it("never counts a trusted proxy's own address as the client: no X-Forwarded-For, or only trusted hops, gets no override", async () => {
    const url = await plane(["127.0.0.0/8"]);
    assert.equal(await colorFor(url), "blue", "a proxy that does not say who sent the request");
    assert.equal(await colorFor(url, "127.0.0.5, 127.0.0.1"), "blue");
    assert.equal(await colorFor(url, "not-an-ip"), "blue");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    const url = await plane([], { override: { header: "x-teal-color", allowFrom: ["198.51.100.0/24"] } });
    assert.equal(await colorFor(url, "198.51.100.9"), "blue");
    const loopback = await plane([]);
    assert.equal(await colorFor(loopback, "203.0.113.7"), "green", "the peer, 127.0.0.1, is the client");
  });
});

describe("the warning about a proxy in front of teal that it does not trust", () => {
  let backend: Backend;
  const planes: DataPlane[] = [];

  before(async () => {
    backend = await startBackend("blue");
  });

  after(async () => {
    await Promise.all(planes.map((p) => p.close(0)));
    await backend.close();
  });

  /** Sends two requests with X-Forwarded-For and returns the warnings logged. */
  async function warningsFor(trustedProxies: string[], allowFrom: string[]): Promise<string[]> {
    const warnings: string[] = [];
    const spec = serviceSpec(
      "web",
      { blue: [backend.url], green: [] },
      { override: { header: "x-teal-color", allowFrom } },
    );
    const { plane, url } = await startDataPlane(
      [spec],
      { trustedProxies },
      { warning: (m) => warnings.push(m) },
    );
    planes.push(plane);
    for (let i = 0; i < 2; i++) await get(`${url}/`, { "x-forwarded-for": "203.0.113.7" });
    return warnings;
  }

  it("is given once when X-Forwarded-For comes from a peer that allowFrom admits and trustedProxies lacks", async () => {
    const warnings = await warningsFor([], ["127.0.0.0/8"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /from 127\.0\.0\.1, which is not in proxy\.trustedProxies/);
    assert.match(warnings[0]!, /services\.web\.override\.allowFrom/);
  });

  it("is not given when the peer is trusted, or when the override does not admit it", async () => {
    assert.deepEqual(await warningsFor(["127.0.0.1"], ["127.0.0.0/8"]), []);
    assert.deepEqual(await warningsFor([], ["192.0.2.0/24"]), []);
  });
});
