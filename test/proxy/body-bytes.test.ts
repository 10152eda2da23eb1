/**
 * Every byte of a body arrives as sent, both ways, whatever its size, framing and the pace of the
 * reader. The upstream side reads every socket into one shared buffer and copies bodies out into
 * recycled slabs (src/proxy/body-buffers.ts): a slab reused before its write completed would show
 * here as a wrong SHA-256 under many concurrent large bodies with slow readers.
 */

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { Agent, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { sendRaw } from "../support/raw-client.ts";
import { type RawUpstream, startRawUpstream } from "../support/raw-upstream.ts";

/** Sizes around the slab (64 KiB), the small-copy limit (8 KiB) and the head-join limit (16 KiB). */
const SIZES = [0, 1, 100, 8191, 8192, 16_385, 65_535, 65_536, 65_537, 102_400, 300_001, 1_000_003];

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes `body` in pieces of `piece` bytes, waiting for drain (the upstream's own backpressure). */
async function writeInPieces(res: ServerResponse, body: Buffer, piece: number): Promise<void> {
  for (let at = 0; at < body.length; at += piece) {
    if (!res.write(body.subarray(at, at + piece))) await once(res, "drain");
  }
  res.end();
}

/**
 * Reads a stream whole; a slow reader takes one chunk per timer turn, a stalled one reads nothing
 * until `start` resolves, so that the proxy's writes to it wait in its socket with their buffers.
 */
async function readAll(stream: IncomingMessage, slow: boolean, start?: Promise<void>): Promise<Buffer> {
  if (start !== undefined) {
    stream.pause();
    await start;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    if (slow) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return Buffer.concat(chunks);
}

describe("body bytes through the proxy", () => {
  let backend: Backend;
  let plane: DataPlane;
  let port: number;
  /** Bodies the backend serves, by id. */
  const served = new Map<string, Buffer>();
  const agent = new Agent({ keepAlive: true, maxSockets: 24 });

  before(async () => {
    backend = await startBackend("blue", (req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET") {
        const body = served.get(url.searchParams.get("id") ?? "")!;
        const chunked = url.searchParams.get("te") === "chunked";
        res.writeHead(200, {
          "x-sha256": sha256(body),
          ...(chunked ? {} : { "content-length": String(body.length) }),
        });
        void writeInPieces(res, body, Number(url.searchParams.get("piece")));
        return;
      }
      // An upload: the upstream answers with what it read; a slow one reads a chunk per timer turn.
      void readAll(req, url.searchParams.get("slow") === "1").then((body) => {
        res.end(JSON.stringify({ length: body.length, sha256: sha256(body) }));
      });
    });
    ({ plane, port } = await startDataPlane([serviceSpec("app", { blue: [backend.url], green: [] })], {
      requestBufferBytes: 1024,
    }));
  });

  after(async () => {
    agent.destroy();
    await plane.close(0);
    await backend.close();
  });

  function download(id: string, te: string, piece: number, slow: boolean, start?: Promise<void>) {
    return new Promise<{ status: number; expected: string; got: string; length: number }>(
      (resolve, reject) => {
        const path = `/bytes?id=${id}&te=${te}&piece=${piece}`;
        const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
          readAll(res, slow, start).then(
            (body) =>
              resolve({
                status: res.statusCode ?? 0,
                expected: String(res.headers["x-sha256"]),
                got: sha256(body),
                length: body.length,
              }),
            reject,
          );
        });
        req.on("error", reject);
        req.end();
      },
    );
  }

  function upload(body: Buffer, chunked: boolean, slow: boolean) {
    return new Promise<{ length: number; sha256: string }>((resolve, reject) => {
      const headers = chunked ? {} : { "content-length": String(body.length) };
      const path = `/upload?slow=${slow ? 1 : 0}`;
      const req = request({ host: "127.0.0.1", port, path, method: "PUT", headers, agent }, (res) => {
        readAll(res, false).then((b) => resolve(JSON.parse(b.toString()) as never), reject);
      });
      req.on("error", reject);
      // Sent in uneven pieces, so the proxy's reads do not line up with any boundary.
      let at = 0;
      let i = 0;
      const pump = () => {
        while (at < body.length) {
          const n = [1000, 70_000, 4096, 65_536][i++ % 4]!;
          const ok = req.write(body.subarray(at, at + n));
          at += n;
          if (!ok) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
  }

  it("delivers many concurrent downloads byte for byte, by length or chunked, to fast, slow and stalled readers", async () => {
    // Stalled readers of bodies larger than the kernel's socket buffers hold the proxy's writes to
    // them (and the buffers they write from) while every other download goes on.
    let release = () => {};
    const start = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stalled: Promise<void>[] = [];
    for (let i = 0; i < 2; i++) {
      const id = `stalled-${i}`;
      served.set(id, randomBytes(6_000_000 + i));
      stalled.push(
        download(id, i % 2 ? "chunked" : "length", 65_536, false, start).then((r) => {
          assert.equal(r.got, r.expected, `stalled reader ${i}: the bytes differ`);
        }),
      );
    }
    const jobs: Promise<void>[] = [];
    let n = 0;
    for (const size of SIZES) {
      for (const te of ["length", "chunked"]) {
        for (const slow of [false, true]) {
          const id = String(n++);
          served.set(id, randomBytes(size));
          // The upstream writes in pieces that straddle the proxy's 64 KiB reads.
          const piece = [100_000, 7_000, 65_536, 1_000_000][n % 4]!;
          jobs.push(
            download(id, te, piece, slow).then((r) => {
              assert.equal(r.status, 200);
              assert.equal(r.length, size, `${te} ${size} bytes (slow: ${slow})`);
              assert.equal(r.got, r.expected, `${te} ${size} bytes (slow: ${slow}): the bytes differ`);
            }),
          );
        }
      }
    }
    await Promise.all(jobs);
    release();
    await Promise.all(stalled);
  });

  it("delivers the same large bodies again on the reused connections (the recycled buffers)", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const id = `again-${i}`;
      served.set(id, randomBytes(200_000 + i * 4099));
      ids.push(id);
    }
    const results = await Promise.all(ids.map((id, i) => download(id, "length", 65_536, i % 3 === 0)));
    for (const r of results) assert.equal(r.got, r.expected);
  });

  it("delivers many concurrent uploads byte for byte, by length or chunked, to fast and slow upstreams", async () => {
    const jobs: Promise<void>[] = [];
    for (const size of SIZES) {
      for (const chunked of [false, true]) {
        for (const slow of [false, true]) {
          const body = randomBytes(size);
          jobs.push(
            upload(body, chunked, slow).then((r) => {
              assert.equal(r.length, size, `${chunked ? "chunked" : "length"} ${size} bytes (slow: ${slow})`);
              assert.equal(r.sha256, sha256(body), `${size} bytes (slow: ${slow}): the bytes differ`);
            }),
          );
        }
      }
    }
    await Promise.all(jobs);
  });
});

describe("response framing from a hand-written upstream", () => {
  let upstream: RawUpstream;
  let plane: DataPlane;
  let port: number;
  /** What the upstream answers to the request it reads; n counts the requests of the test. */
  let answer: (socket: Socket, n: number) => void = () => {};
  let n = 0;
  /** The upstream connection that carried each request of the test. */
  let carriers: Socket[] = [];

  before(async () => {
    upstream = await startRawUpstream((socket) => {
      socket.on("data", (d: Buffer) => {
        // One request per read is enough here: each test sends one at a time.
        if (!d.includes("\r\n\r\n")) return;
        carriers.push(socket);
        answer(socket, n++);
      });
    });
    ({ plane, port } = await startDataPlane([serviceSpec("app", { blue: [upstream.url], green: [] })]));
  });

  after(async () => {
    await plane.close(0);
    await upstream.close();
  });

  beforeEach(() => {
    n = 0;
    carriers = [];
  });

  const get = (path: string, method = "GET") =>
    sendRaw(port, `${method} ${path} HTTP/1.1\r\nhost: app\r\nconnection: close\r\n\r\n`);

  it("keeps a Content-Length body whose head and body arrive in separate reads", async () => {
    answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
      setImmediate(() => socket.write("01234"));
      setTimeout(() => socket.write("56789"), 20);
    };
    const res = await get("/split");
    assert.equal(res?.status, 200);
    assert.equal(res?.body, "0123456789");
  });

  it("passes an answer whole and drops a connection whose upstream sends bytes after it", async () => {
    answer = (socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA");
    const first = await get("/extra");
    assert.equal(first?.body, "hello");
    answer = (socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const second = await get("/next");
    assert.equal(second?.body, "ok");
    assert.notEqual(carriers[1], carriers[0], "the connection that sent extra bytes was not reused");
  });

  it("reads no body after a 304 or a HEAD answer that names a length, and reuses the connection", async () => {
    answer = (socket, n) => {
      if (n === 0) socket.write("HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\n\r\n");
      else if (n === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n");
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlast");
    };
    assert.equal((await get("/cached"))?.status, 304);
    const head = await get("/head", "HEAD");
    assert.equal(head?.status, 200);
    assert.equal(head?.body.length, 0);
    assert.equal((await get("/last"))?.body, "last");
    assert.equal(new Set(carriers).size, 1, "one upstream connection carried all three");
  });

  it("cuts the client's connection when the upstream closes in the middle of a Content-Length body", async () => {
    answer = (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n");
      socket.end(Buffer.alloc(70_000, 1));
    };
    const res = await get("/cut");
    // The head went out with the first bytes: all the client can see is a body cut short.
    assert.equal(res?.status, 200);
    assert.ok((res?.body.length ?? 0) < 100_000);
  });
});
