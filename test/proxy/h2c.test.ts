/**
 * proxy.h2c: HTTP/2 without TLS by prior knowledge on the plain listener, beside HTTP/1.1 on the
 * same port. Real node:http2 and HTTP/1.1 clients, nghttp2's h2load, real HTTP/1.1 backends: each
 * stream is routed and switched like a request; an HTTP/1.1 request whose first bytes look like
 * the preface ("P...") still goes to HTTP/1.1; the fast engine refuses h2c with the fix.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect as connectH2 } from "node:http2";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { validateConfig } from "../../src/config/load.ts";
import { isTealError } from "../../src/domain/errors.ts";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get } from "../support/http.ts";
import { startTeal, tempDir } from "../support/teal-process.ts";

const run = promisify(execFile);

describe("proxy.h2c on the plain listener", () => {
  let blue: Backend;
  let green: Backend;
  let proxy: { plane: DataPlane; url: string; port: number; generation: { next: () => number } };
  let spec: ServiceSpec;

  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
    spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    proxy = await startDataPlane([spec], { h2c: true, engine: "auto" });
  });

  after(async () => {
    await proxy.plane.close();
    await blue.close();
    await green.close();
  });

  async function h2Get(session: ReturnType<typeof connectH2>, path: string): Promise<[number, string]> {
    const stream = session.request({ ":path": path, ":authority": "app.test" });
    const [headers] = (await once(stream, "response")) as [Record<string, string | number>];
    let body = "";
    stream.setEncoding("utf8");
    for await (const chunk of stream) body += chunk;
    return [Number(headers[":status"]), body];
  }

  it("serves HTTP/2 streams by prior knowledge, switched like requests, beside HTTP/1.1 on the same port", async () => {
    const session = connectH2(proxy.url);
    session.on("error", () => {});
    try {
      const first = await Promise.all([h2Get(session, "/a"), h2Get(session, "/b"), h2Get(session, "/c")]);
      assert.deepEqual(first, [
        [200, "blue"],
        [200, "blue"],
        [200, "blue"],
      ]);
      proxy.plane.apply({
        generation: proxy.generation.next(),
        services: [{ ...spec, routing: { ...spec.routing, live: "green", greenPercent: 100 } }],
      });
      // The same connection: its next streams follow the switch.
      assert.deepEqual(await h2Get(session, "/d"), [200, "green"]);
      const http1 = await get(`${proxy.url}/e`);
      assert.deepEqual([http1.status, http1.body], [200, "green"]);
    } finally {
      session.close();
      proxy.plane.apply({ generation: proxy.generation.next(), services: [spec] });
    }
  });

  it("sends an HTTP/1.1 request that starts like the preface, byte by byte, to HTTP/1.1", async () => {
    const socket = connect(proxy.port, "127.0.0.1");
    await once(socket, "connect");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      answer += d;
    });
    const request = "POST /p HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
    for (const ch of request.slice(0, 3)) {
      socket.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    // Not ended by the client: teal takes a client's FIN as the client gone (499).
    socket.write(request.slice(3));
    await once(socket, "close");
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\r\n\r\n4\r\nblue\r\n0\r\n\r\n$/);
  });

  it("serves h2load's h2c load with no failed request", async () => {
    const { stdout } = await run("h2load", ["-n", "400", "-c", "4", "-m", "8", `${proxy.url}/`]);
    assert.match(stdout, /Application protocol: h2c/);
    assert.match(stdout, /requests: 400 total, 400 started, 400 done, 400 succeeded, 0 failed, 0 errored/);
    assert.match(stdout, /status codes: 400 2xx/);
  });

  it("closes a connection that sends too little to tell within the head timeout", async () => {
    const quick = await startDataPlane([spec], {
      h2c: true,
      timeouts: { ...(await import("../support/data-plane.ts")).testSettings.timeouts, clientHeadersMs: 200 },
    });
    try {
      const socket = connect(quick.port, "127.0.0.1");
      await once(socket, "connect");
      socket.write("PRI * HTTP/2.0\r\n");
      const started = performance.now();
      await once(socket, "close");
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await quick.plane.close();
    }
  });
});

describe("teal server with proxy.h2c and two proxy workers", () => {
  it("serves h2c and HTTP/1.1 on proxy.listen, from each worker", async () => {
    const backend = await startBackend("blue");
    const dir = await tempDir("teal-h2c-");
    const teal = await startTeal(
      `proxy:\n  listen: 127.0.0.1:0\n  engine: auto\n  h2c: true\n  workers: 2\nadmin:\n  listen: 127.0.0.1:0\nservices:\n  web:\n    routes: [{ path: / }]\n    blue: [${backend.url}]\n`,
      dir.path,
    );
    try {
      // A session of its own each time: the two workers take turns accepting connections.
      for (let i = 0; i < 4; i++) {
        const session = connectH2(teal.proxyUrl);
        session.on("error", () => {});
        const stream = session.request({ ":path": "/", ":authority": "app.test" });
        const [headers] = (await once(stream, "response")) as [Record<string, string | number>];
        stream.resume();
        await once(stream, "end");
        session.close();
        assert.equal(headers[":status"], 200);
        assert.equal(headers["x-backend"], "blue");
      }
      const http1 = await get(`${teal.proxyUrl}/`);
      assert.deepEqual([http1.status, http1.body], [200, "blue"]);
    } finally {
      await teal.stop();
      await backend.close();
      await dir.remove();
    }
  });
});

describe("proxy.h2c config", () => {
  const problem = (proxy: unknown): string => {
    try {
      validateConfig({ proxy });
      return "valid";
    } catch (err) {
      assert.ok(isTealError(err) && err.code === "CONFIG_INVALID");
      return err.message;
    }
  };

  it("is off by default, runs on node-http, and is refused with the fast engine, naming the fix", () => {
    assert.equal(validateConfig({}).proxy.h2c, false);
    assert.equal(problem({ h2c: true }), "valid");
    assert.equal(problem({ h2c: true, engine: "node-http" }), "valid");
    assert.match(
      problem({ h2c: true, engine: "fast" }),
      /proxy\.h2c: needs proxy\.engine: node-http \(or auto, which then runs node-http\)/,
    );
  });
});
