/** WebSockets through the proxy: frames pass untouched, switches leave open sockets alone until the drain deadline. */

import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import type { DrainReport } from "../../src/traffic/status.ts";
import { serviceSpec, startDataPlane, testSettings } from "../support/data-plane.ts";
import { refusedUrl, startRawUpstream } from "../support/raw-upstream.ts";

interface WsBackend {
  readonly url: string;
  /** The upgrade requests it accepted, in order. */
  readonly upgrades: IncomingMessage[];
  close(): Promise<void>;
}

/** A `ws` server on 127.0.0.1 port 0 that answers every message with "<name>: <message>". */
async function startWsBackend(name: string): Promise<WsBackend> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const upgrades: IncomingMessage[] = [];
  server.on("connection", (socket, req) => {
    upgrades.push(req);
    socket.on("message", (data, isBinary) => socket.send(isBinary ? data : `${name}: ${data}`));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function openSocket(proxyUrl: string): Promise<WebSocket> {
  const socket = new WebSocket(proxyUrl.replace(/^http/, "ws"));
  await once(socket, "open");
  return socket;
}

async function roundTrip(socket: WebSocket, message: string | Buffer): Promise<string | Buffer> {
  const reply = once(socket, "message") as Promise<[Buffer, boolean]>;
  socket.send(message);
  const [data, isBinary] = await reply;
  return isBinary ? data : data.toString();
}

const toGreen = (spec: ServiceSpec): ServiceSpec => ({
  ...spec,
  routing: { ...spec.routing, live: "green", greenPercent: 100 },
});

/** Collects drain reports and resolves when one for `color` arrives. */
function drainWatcher() {
  const reports = new EventEmitter();
  return {
    drained: (_service: string, report: DrainReport) => reports.emit(report.color, report),
    next: (color: string) => once(reports, color).then(([r]) => r as DrainReport),
  };
}

describe("WebSockets through the proxy", () => {
  it("echoes text and binary frames, and the upstream sees the forwarding headers", async () => {
    const blue = await startWsBackend("blue");
    const { plane, url } = await startDataPlane([serviceSpec("chat", { blue: [blue.url], green: [] })]);
    const socket = await openSocket(url);

    assert.equal(await roundTrip(socket, "hello"), "blue: hello");
    const big = Buffer.alloc(2 * 1024 * 1024, 7);
    assert.deepEqual(await roundTrip(socket, big), big);
    assert.equal(blue.upgrades[0]?.headers["x-forwarded-for"], "127.0.0.1");
    assert.match(String(blue.upgrades[0]?.headers["x-request-id"]), /./);

    socket.close();
    await once(socket, "close");
    await plane.close(0);
    await blue.close();
  });

  it("keeps an open WebSocket on blue working after a switch to green, while a new one lands on green", async () => {
    const blue = await startWsBackend("blue");
    const green = await startWsBackend("green");
    const spec = serviceSpec("chat", { blue: [blue.url], green: [green.url] }, { drainTimeoutMs: 60_000 });
    const drains = drainWatcher();
    const { plane, url, generation } = await startDataPlane([spec], {}, { drained: drains.drained });
    const old = await openSocket(url);
    assert.equal(await roundTrip(old, "before"), "blue: before");

    plane.apply({ generation: generation.next(), services: [toGreen(spec)] });
    assert.equal(await roundTrip(old, "after"), "blue: after");
    const fresh = await openSocket(url);
    assert.equal(await roundTrip(fresh, "new"), "green: new");
    assert.equal(await roundTrip(old, "still"), "blue: still");
    assert.equal(plane.status()[0]?.drains[0]?.state, "draining");

    // The old color has drained as soon as its last WebSocket goes away.
    const drained = drains.next("blue");
    old.close();
    const report = await drained;
    assert.equal(report.state, "drained");
    assert.equal(report.forced, 0);
    assert.equal(await roundTrip(fresh, "on"), "green: on");

    fresh.close();
    await once(fresh, "close");
    await plane.close(0);
    await Promise.all([blue.close(), green.close()]);
  });

  it("closes a WebSocket still open on the old color at the drain deadline and reports the drain forced", async () => {
    const blue = await startWsBackend("blue");
    const green = await startWsBackend("green");
    const spec = serviceSpec("chat", { blue: [blue.url], green: [green.url] }, { drainTimeoutMs: 300 });
    const drains = drainWatcher();
    const { plane, url, generation } = await startDataPlane([spec], {}, { drained: drains.drained });
    const old = await openSocket(url);
    assert.equal(await roundTrip(old, "before"), "blue: before");
    const closed = once(old, "close");
    const drained = drains.next("blue");

    plane.apply({ generation: generation.next(), services: [toGreen(spec)] });
    await closed;
    await drained;

    const blueDrain = plane.status()[0]?.drains.find((d) => d.color === "blue");
    assert.equal(blueDrain?.state, "forced");
    assert.equal(blueDrain?.forced, 1);
    const fresh = await openSocket(url);
    assert.equal(await roundTrip(fresh, "hi"), "green: hi");

    fresh.close();
    await once(fresh, "close");
    await plane.close(0);
    await Promise.all([blue.close(), green.close()]);
  });

  it("answers an upgrade to an endpoint that refuses connections with 502", async () => {
    const { plane, url } = await startDataPlane([
      serviceSpec("chat", { blue: [await refusedUrl()], green: [] }),
    ]);
    const socket = new WebSocket(url.replace(/^http/, "ws"));
    const [, res] = (await once(socket, "unexpected-response")) as [unknown, IncomingMessage];
    let body = "";
    for await (const chunk of res) body += chunk;

    assert.equal(res.statusCode, 502);
    assert.match(body, /could not connect to the upstream \(ECONNREFUSED\)/);
    assert.equal(plane.status()[0]?.endpoints[0]?.healthy, false);
    await plane.close(0);
  });

  it("answers 504 when the upstream accepts the connection but never answers the handshake", async () => {
    const silent = await startRawUpstream();
    const { plane, url } = await startDataPlane([serviceSpec("chat", { blue: [silent.url], green: [] })], {
      timeouts: {
        ...testSettings.timeouts,
        connectMs: 2_000,
        headersMs: 300,
        idleMs: 5_000,
        clientKeepAliveMs: 5_000,
        clientHeadersMs: 5_000,
      },
    });
    const socket = new WebSocket(url.replace(/^http/, "ws"));
    const [, res] = (await once(socket, "unexpected-response")) as [unknown, IncomingMessage];
    let body = "";
    for await (const chunk of res) body += chunk;
    assert.equal(res.statusCode, 504);
    assert.match(body, /did not answer the upgrade in time/);
    await plane.close(0);
    await silent.close();
  });

  it("answers an upgrade for a color with no endpoints with 503", async () => {
    const { plane, url } = await startDataPlane([serviceSpec("chat", { blue: [], green: [] })]);
    const socket = new WebSocket(url.replace(/^http/, "ws"));
    const [, res] = (await once(socket, "unexpected-response")) as [unknown, IncomingMessage];
    res.resume();
    assert.equal(res.statusCode, 503);
    await plane.close(0);
  });
});
