/** Bodies stream through the proxy in both directions, with backpressure and without buffering. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { type IncomingMessage, request, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { AccessLogRecorder } from "../support/access-log.ts";
import { type Backend, echoName, startBackend } from "../support/backends.ts";
import { RssPeak, writeRepeated } from "../support/bulk-data.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";

async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding("utf8");
  let body = "";
  for await (const chunk of res) body += chunk;
  return body;
}

const GIGABYTE = 1024 ** 3;
/** Generous: the point is that a 1 GB body is never held, not a precise footprint. */
const MAX_RSS_GROWTH_MB = 150;

describe("streaming through the proxy", () => {
  let backend: Backend;
  let plane: DataPlane;
  let url: string;
  const log = new AccessLogRecorder();
  /** Set by a test to watch memory while the backend handles a transfer. */
  let rss: RssPeak | undefined;
  /** Released by a test to let a held response finish. */
  const held = new Map<string, (chunk: string) => void>();
  /** Emits "chunk" for each piece of a request body the upstream reads on /echo-hash. */
  const upstreamReads = new EventEmitter();

  before(async () => {
    backend = await startBackend("blue", (req, res, name) => {
      if (req.url === "/upload") return countUpload(req, res);
      if (req.url === "/download") return void sendGigabyte(res);
      if (req.url === "/events") return serverSentEvents(res);
      if (req.url === "/poll") return held.set("/poll", (payload) => res.end(payload));
      if (req.url === "/echo-hash") return echoHash(req, res);
      if (req.url === "/held-hash") {
        // Reads nothing until the test releases it, so that backpressure reaches the client.
        echoHash(req, res);
        req.pause();
        return held.set("/held-hash", () => req.resume());
      }
      echoName(req, res, name);
    });
    ({ plane, url } = await startDataPlane(
      [serviceSpec("app", { blue: [backend.url], green: [] })],
      {},
      {
        accessLog: log.record,
      },
    ));
  });

  after(async () => {
    await plane.close(0);
    await backend.close();
  });

  function countUpload(req: IncomingMessage, res: ServerResponse): void {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      rss?.sample();
    });
    req.on("end", () => res.end(String(bytes)));
  }

  async function sendGigabyte(res: ServerResponse): Promise<void> {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": GIGABYTE });
    await writeRepeated(res, GIGABYTE);
    res.end();
  }

  function serverSentEvents(res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("event: hello\ndata: first\n\n");
    held.set("/events", (last) => res.end(last));
  }

  function echoHash(req: IncomingMessage, res: ServerResponse): void {
    const hash = createHash("sha256");
    req.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      upstreamReads.emit("chunk", chunk.toString());
    });
    req.on("end", () =>
      res.end(
        JSON.stringify({
          sha256: hash.digest("hex"),
          contentLength: req.headers["content-length"] ?? null,
          transferEncoding: req.headers["transfer-encoding"] ?? null,
        }),
      ),
    );
  }

  it("streams a 1 GB upload to the upstream without holding it in memory", async (t) => {
    rss = new RssPeak();
    const req = request(`${url}/upload`, {
      method: "POST",
      headers: { host: "app.test", "content-length": GIGABYTE },
      agent: false,
    });
    const response = once(req, "response") as Promise<[IncomingMessage]>;
    await writeRepeated(req, GIGABYTE);
    req.end();
    const [res] = await response;
    const body = await readText(res);

    assert.equal(res.statusCode, 200);
    assert.equal(Number(body), GIGABYTE, "bytes the upstream received");
    const entry = await log.waitFor((e) => e.path === "/upload");
    assert.equal(entry.bytesIn, GIGABYTE, "bytes the proxy logged as sent upstream");
    t.diagnostic(`RSS growth during the upload: ${rss.growthMb.toFixed(1)} MB`);
    assert.ok(rss.growthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${rss.growthMb.toFixed(0)} MB`);
  });

  it("streams a 1 GB download to the client without holding it in memory", async (t) => {
    const peak = new RssPeak();
    const req = request(`${url}/download`, { headers: { host: "app.test" }, agent: false });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    let bytes = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      peak.sample();
    }

    assert.equal(res.statusCode, 200);
    assert.equal(bytes, GIGABYTE, "bytes the client received");
    const entry = await log.waitFor((e) => e.path === "/download");
    assert.equal(entry.bytesOut, GIGABYTE, "bytes the proxy logged as sent to the client");
    t.diagnostic(`RSS growth during the download: ${peak.growthMb.toFixed(1)} MB`);
    assert.ok(peak.growthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${peak.growthMb.toFixed(0)} MB`);
  });

  it("delivers a server-sent event before the upstream ends the response", async () => {
    const req = request(`${url}/events`, {
      headers: { host: "app.test", accept: "text/event-stream" },
      agent: false,
    });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/event-stream");
    res.setEncoding("utf8");
    const [first] = (await once(res, "data")) as [string];
    assert.equal(first, "event: hello\ndata: first\n\n");

    // Only now does the upstream send the last event and end the stream.
    let rest = "";
    res.on("data", (chunk: string) => {
      rest += chunk;
    });
    const ended = once(res, "end");
    held.get("/events")!("data: last\n\n");
    await ended;
    assert.equal(rest, "data: last\n\n");
  });

  it("returns a long-poll answer intact after holding it while other requests pass", async () => {
    const parked = once(backend.server, "request");
    const poll = get(`${url}/poll`, { host: "app.test" });
    await parked;

    const others = await Promise.all(Array.from({ length: 20 }, () => get(`${url}/`, { host: "app.test" })));
    assert.deepEqual(
      others.map((r) => r.status),
      others.map(() => 200),
    );

    const payload = JSON.stringify({
      messages: Array.from({ length: 5000 }, (_, i) => ({ id: i, text: `message ${i}` })),
    });
    held.get("/poll")!(payload);
    const res = await poll;
    assert.equal(res.status, 200);
    assert.equal(res.body, payload);
  });

  it("streams a chunked request body without Content-Length to the upstream as it arrives", async () => {
    const req = request(`${url}/echo-hash`, { method: "POST", headers: { host: "app.test" }, agent: false });
    const response = once(req, "response") as Promise<[IncomingMessage]>;
    const sent = createHash("sha256");
    for (const part of ["first part;", "second part;", "x".repeat(100_000)]) {
      // Each part reaches the upstream before the client sends the next one: nothing is buffered.
      const arrived = new Promise<void>((resolve) => {
        let got = "";
        const onChunk = (chunk: string) => {
          got += chunk;
          if (got.length < part.length) return;
          upstreamReads.off("chunk", onChunk);
          resolve();
        };
        upstreamReads.on("chunk", onChunk);
      });
      req.write(part);
      sent.update(part);
      await arrived;
    }
    req.end();
    const [res] = await response;
    const body = await readText(res);

    assert.equal(res.statusCode, 200);
    assert.deepEqual(JSON.parse(body), {
      sha256: sent.digest("hex"),
      contentLength: null,
      transferEncoding: "chunked",
    });
  });

  it("keeps a chunked request body intact while a slow upstream pushes back on it", async () => {
    const req = request(`${url}/held-hash`, { method: "POST", headers: { host: "app.test" }, agent: false });
    const response = once(req, "response") as Promise<[IncomingMessage]>;
    const sent = createHash("sha256");
    const TOTAL = 1024; // 64 MiB in 64 KiB parts: far more than the socket buffers on the way hold
    let accepted = 0; // parts the client's socket took (write returned true, or drained)
    const writing = (async () => {
      for (let i = 0; i < TOTAL; i++) {
        const part = createHash("sha512").update(String(i)).digest().toString("hex").repeat(512);
        sent.update(part);
        if (!req.write(part)) await once(req, "drain");
        accepted++;
      }
      req.end();
    })();
    // The pipeline is full when the client stops getting rid of parts for a while: the proxy's
    // writes upstream failed and it stopped reading. Only then may the upstream read.
    let last = -1;
    let since = Date.now();
    await eventually(() => {
      if (accepted !== last) [last, since] = [accepted, Date.now()];
      return held.has("/held-hash") && accepted > 0 && Date.now() - since > 200;
    }, "backpressure from the upstream to reach the client");
    assert.ok(accepted < TOTAL, `the client could hand over ${accepted} of ${TOTAL} parts`);
    held.get("/held-hash")!("");
    await writing;
    const [res] = await response;
    assert.deepEqual(JSON.parse(await readText(res)), {
      sha256: sent.digest("hex"),
      contentLength: null,
      transferEncoding: "chunked",
    });
  });
});
