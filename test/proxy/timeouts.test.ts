/** Slow, dead and missing upstreams: the client gets a prompt, clear answer and the proxy keeps serving. */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { AccessLogRecorder } from "../support/access-log.ts";
import { echoName, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane, testSettings } from "../support/data-plane.ts";
import { get, load } from "../support/http.ts";
import { refusedUrl, startRawUpstream } from "../support/raw-upstream.ts";

const fastTimeouts = { timeouts: { ...testSettings.timeouts, headersMs: 300, idleMs: 300 } };

describe("upstream timeouts and failures", () => {
  it("answers 504 with a clear body when the upstream accepts the connection but never answers", async () => {
    const silent = await startRawUpstream();
    const { plane, url } = await startDataPlane(
      [serviceSpec("app", { blue: [silent.url], green: [] })],
      fastTimeouts,
    );

    const res = await get(`${url}/report`);
    assert.equal(res.status, 504);
    assert.equal(res.headers["x-teal-error"], "upstream_timeout");
    assert.match(res.body, /^504 Gateway Timeout: the upstream did not answer in time \(service app, blue\)/);
    // The request may have reached the upstream, so it is not sent again.
    assert.equal(silent.accepted, 1);

    await plane.close(0);
    await silent.close();
  });

  it("answers 504 upstream_connect_timeout when the upstream never completes the connection", async () => {
    // A process that listens with a backlog of 1 and never accepts: once its accept queue holds
    // two connections, the kernel drops further SYNs, so teal's connect hangs (all on loopback).
    const stuck = spawn(
      process.execPath,
      [
        "-e",
        `const server = require("node:net").createServer();
        server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
          console.log(server.address().port);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never accept
        });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const [line] = await once(stuck.stdout!, "data");
      const port = Number(String(line).trim());
      const fillers = [0, 1].map(() => connect({ host: "127.0.0.1", port }).on("error", () => {}));
      await Promise.all(fillers.map((socket) => once(socket, "connect")));
      const { plane, url } = await startDataPlane(
        [serviceSpec("app", { blue: [`http://127.0.0.1:${port}`], green: [] })],
        {
          timeouts: { ...testSettings.timeouts, connectMs: 300 },
        },
      );
      const res = await get(`${url}/`);
      assert.equal(res.status, 504);
      assert.equal(res.headers["x-teal-error"], "upstream_connect_timeout");
      assert.match(res.body, /connecting to the upstream timed out \(service app, blue\)/);
      for (const socket of fillers) socket.destroy();
      await plane.close(0);
    } finally {
      stuck.kill("SIGKILL");
    }
  });

  it("cuts the client connection when the upstream stalls mid-body, and keeps serving", async () => {
    const backend = await startBackend("blue", (req, res, name) => {
      if (req.url !== "/stall") return echoName(req, res, name);
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("the beginning of a response that never ends\n");
    });
    const log = new AccessLogRecorder();
    const { plane, url } = await startDataPlane(
      [serviceSpec("app", { blue: [backend.url], green: [] })],
      fastTimeouts,
      { accessLog: log.record },
    );

    const req = request(`${url}/stall`, { agent: false });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    res.on("error", () => {}); // "aborted" is what the client sees
    let received = "";
    res.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    await new Promise((resolve) => res.once("close", resolve));
    assert.equal(res.complete, false, "the client can tell the response was cut short");
    assert.equal(received, "the beginning of a response that never ends\n");
    const entry = await log.waitFor((e) => e.path === "/stall");
    assert.equal(entry.error, "upstream_timeout");

    const next = await get(`${url}/`);
    assert.equal(next.status, 200);
    assert.equal(next.body, "blue");
    await plane.close(0);
    await backend.close();
  });

  it("answers 502 upstream_unreachable when the endpoint refuses connections, and marks it unhealthy", async () => {
    const { plane, url } = await startDataPlane([
      serviceSpec("app", { blue: [await refusedUrl()], green: [] }),
    ]);

    const res = await get(`${url}/`);
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-teal-error"], "upstream_unreachable");
    assert.match(res.body, /could not connect to the upstream/);
    assert.equal(plane.status()[0]?.endpoints[0]?.healthy, false);
    await plane.close(0);
  });

  it("sends a POST that an endpoint refused to the other endpoint, with its body intact", async () => {
    const live = await startBackend("live", (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => res.end(`received ${body.length} bytes`));
    });
    const log = new AccessLogRecorder();
    // The refused endpoint comes first, so the first request is dispatched to it.
    const { plane, url } = await startDataPlane(
      [serviceSpec("app", { blue: [await refusedUrl(), live.url], green: [] })],
      {},
      { accessLog: log.record },
    );

    const res = await fetch(`${url}/orders`, { method: "POST", body: "x".repeat(100_000) });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "received 100000 bytes");
    const entry = await log.waitFor((e) => e.path === "/orders");
    assert.equal(entry.retried, true);
    assert.equal(entry.upstream, live.url);
    await plane.close(0);
    await live.close();
  });

  it("answers 503 no_endpoints for a color that has no endpoints", async () => {
    const blue = await startBackend("blue");
    const { plane, url } = await startDataPlane([serviceSpec("app", { blue: [blue.url], green: [] })]);

    const res = await get(`${url}/`, { "x-teal-color": "green" });
    assert.equal(res.status, 503);
    assert.equal(res.headers["x-teal-error"], "no_endpoints");
    assert.match(res.body, /service app has no green endpoints/);
    assert.equal((await get(`${url}/`)).body, "blue");
    await plane.close(0);
    await blue.close();
  });

  it("fails no client request when one of two endpoints is killed under keep-alive load", async () => {
    const doomed = await startBackend("doomed");
    const survivor = await startBackend("survivor");
    const log = new AccessLogRecorder();
    const { plane, url } = await startDataPlane(
      [serviceSpec("app", { blue: [doomed.url, survivor.url], green: [] })],
      {},
      { accessLog: log.record },
    );
    let killed: Promise<void> | undefined;

    const result = await load(`${url}/`, {
      total: 2_000,
      connections: 20,
      onReply: (_reply, i) => {
        if (i >= 700 && killed === undefined) killed = doomed.close();
      },
    });
    await killed;

    assert.equal(result.errors, 0, "requests that failed at the network level");
    assert.deepEqual([...result.statuses.keys()], [200]);
    assert.ok((result.bodies.get("doomed") ?? 0) > 100, "the doomed endpoint served before it died");
    assert.ok((result.bodies.get("survivor") ?? 0) > 1_000, "the survivor took over");
    const endpoint = plane.status()[0]?.endpoints.find((e) => e.url === doomed.url);
    assert.equal(endpoint?.healthy, false);
    assert.ok(
      log.entries.some((e) => e.retried && e.upstream === survivor.url),
      "retried on the survivor",
    );
    await plane.close(0);
    await survivor.close();
  });
});
