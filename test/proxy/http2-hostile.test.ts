/**
 * Hostile HTTP/2 on proxy.tls's listener, from a hand-made frame client over a real TLS socket
 * (support/h2-frames.ts): each attack ends with its connection closed (GOAWAY) or its streams
 * refused, while a well-behaved HTTP/2 client and an HTTPS/1.1 client, running at the same time,
 * get every answer.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { type ClientHttp2Session, connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type TestPki } from "../support/certs.ts";
import { serviceSpec, startDataPlane, testSettings } from "../support/data-plane.ts";
import { ERROR, FLAG, FRAME, literalField, RawH2 } from "../support/h2-frames.ts";

describe("hostile HTTP/2", () => {
  let pki: TestPki;
  let backend: Backend;
  let proxy: { plane: DataPlane };
  let tlsPort: number;
  const clientErrors: string[] = [];

  before(async () => {
    pki = await createPki();
    const leaf = await pki.leaf("app", ["app.test"]);
    backend = await startBackend("blue");
    const spec = serviceSpec("app", { blue: [backend.url], green: [backend.url] });
    proxy = await startDataPlane(
      [spec],
      {
        tls: {
          listen: "127.0.0.1:0",
          certificates: [leaf],
          hsts: false,
          http2: {
            maxConcurrentStreams: 20,
            maxResetsPerSecond: 50,
            maxSessionMemoryMb: 10,
            maxHeaderPairs: 100,
          },
        },
        // After a GOAWAY for a protocol error node:http2 leaves the connection open (it says
        // nothing of it): teal's idle sweep closes it, at the keep-alive timeout.
        timeouts: { ...testSettings.timeouts, clientKeepAliveMs: 1_000 },
      },
      { clientError: (code) => clientErrors.push(code) },
    );
    tlsPort = (proxy.plane.tlsAddress as AddressInfo).port;
  });

  after(async () => {
    await proxy.plane.close(0);
    await backend.close();
    await pki.remove();
  });

  const raw = () => RawH2.connect(tlsPort, pki.root, "app.test");

  /** A proper HTTP/2 client's and an HTTPS/1.1 client's requests while `attack` runs: their statuses. */
  async function whileServing(attack: () => Promise<void>): Promise<number[]> {
    const session: ClientHttp2Session = connect(`https://127.0.0.1:${tlsPort}`, {
      ca: pki.root,
      servername: "app.test",
    });
    session.on("error", () => {});
    const statuses: number[] = [];
    let attacking = true;
    const h2 = (async () => {
      for (let i = 0; i < 10 || attacking; i++) {
        const stream = session.request({ ":path": "/", ":authority": "app.test" });
        const [headers] = (await once(stream, "response")) as [Record<string, string>];
        stream.resume();
        await once(stream, "end");
        statuses.push(Number(headers[":status"]));
      }
    })();
    const h1 = (async () => {
      for (let i = 0; i < 10 || attacking; i++) statuses.push(await https1());
    })();
    await attack();
    attacking = false;
    await Promise.all([h2, h1]);
    session.close();
    return statuses;
  }

  function https1(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: tlsPort,
          servername: "app.test",
          ca: pki.root,
          headers: { host: "app.test" },
          agent: false,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  function assertAllServed(statuses: number[]): void {
    assert.ok(statuses.length >= 20, `${statuses.length} requests`);
    assert.deepEqual(new Set(statuses), new Set([200]), "every request of the other clients answered 200");
  }

  it("rapid reset (CVE-2023-44487): a client cancelling streams as fast as it opens them is sent GOAWAY ENHANCE_YOUR_CALM", async () => {
    const before = backend.seen.length;
    let code: number | undefined;
    const statuses = await whileServing(async () => {
      const c = await raw();
      const burst: Buffer[] = [];
      for (let id = 1; id < 2 * 5000; id += 2)
        burst.push(RawH2.headersFrame(id, "app.test", "/"), RawH2.rstFrame(id, ERROR.CANCEL));
      c.socket.write(Buffer.concat(burst));
      code = await c.goawayCode();
    });
    assert.equal(code, ERROR.ENHANCE_YOUR_CALM);
    assert.ok(clientErrors.includes("TEAL_H2_RAPID_RESET"), clientErrors.join());
    assert.ok(
      backend.seen.length - before < 1000,
      `${backend.seen.length - before} of 5000 cancelled streams reached the app`,
    );
    assertAllServed(statuses);
  });

  it("a SETTINGS flood and a PING flood from a client that reads nothing close its connection", async () => {
    for (const type of [FRAME.SETTINGS, FRAME.PING]) {
      let closed = false;
      const statuses = await whileServing(async () => {
        const c = await raw();
        c.socket.pause(); // reads nothing: the server's answers queue up
        const frame = RawH2.frame(type, 0, 0, Buffer.alloc(type === FRAME.PING ? 8 : 0));
        const burst = Buffer.concat(Array.from({ length: 2000 }, () => frame));
        for (let i = 0; i < 100 && !c.socket.destroyed; i++) {
          if (!c.socket.write(burst)) await Promise.race([once(c.socket, "drain").catch(() => {}), c.closed]);
        }
        c.socket.resume();
        await c.closed;
        closed = true;
      });
      assert.ok(closed);
      assertAllServed(statuses);
    }
  });

  it("a dynamic table size over the advertised 4096 is a COMPRESSION_ERROR; a header list over maxHeaderPairs is refused", async () => {
    let code: number | undefined;
    let refused: number | undefined;
    const statuses = await whileServing(async () => {
      const c = await raw();
      // A dynamic table size update (001xxxxx) to 1 MiB: 0x3f, then 1048576 - 31 in 7-bit groups.
      const update = Buffer.from([0x3f, 0xe1, 0xff, 0x3f]);
      c.socket.write(RawH2.headersFrame(1, "app.test", "/", true, update));
      code = await c.goawayCode();
      const d = await raw();
      const many = Buffer.concat(Array.from({ length: 150 }, (_, i) => literalField(`x-h${i}`, "v")));
      d.socket.write(RawH2.headersFrame(1, "app.test", "/", true, many));
      d.socket.write(RawH2.headersFrame(3, "app.test", "/", true));
      while (!d.frames.some((f) => f.stream === 3 && (f.flags & FLAG.END_STREAM) !== 0))
        await once(d.socket, "data");
      refused = d.resets().get(1);
      d.socket.destroy();
    });
    assert.equal(code, ERROR.COMPRESSION);
    // node:http2 resets it (ENHANCE_YOUR_CALM, or INTERNAL_ERROR when the list is cut mid-way).
    assert.ok(
      refused !== undefined && refused !== 0,
      "the stream with 150 header fields is reset, the next one served",
    );
    assertAllServed(statuses);
  });

  it("serves at most maxConcurrentStreams streams of a connection at once and closes one that keeps opening more", async () => {
    const held = () => backend.seen.filter((r) => r.url === "/held").length;
    let reachedApp = 0;
    const statuses = await whileServing(async () => {
      const c = await raw();
      // Streams whose body is still to come stay open: the 20 allowed reach the app and wait there.
      const open = (from: number, count: number) => {
        const frames: Buffer[] = [];
        for (let i = 0; i < count; i++)
          frames.push(RawH2.headersFrame(from + 2 * i, "app.test", "/held", false));
        c.socket.write(Buffer.concat(frames));
      };
      const arrived = new Promise<void>((resolve) => {
        const seen = () => {
          if (held() < 20) return;
          backend.server.off("request", seen);
          resolve();
        };
        backend.server.on("request", seen);
      });
      open(1, 20);
      await arrived;
      // 380 more: each refused (REFUSED_STREAM); past 100 refusals node:http2 cuts the connection.
      open(41, 380);
      await c.closed;
      reachedApp = held();
    });
    assert.equal(reachedApp, 20, "only maxConcurrentStreams streams reached the app");
    assertAllServed(statuses);
  });

  it("an oversized frame is a FRAME_SIZE_ERROR that closes the connection", async () => {
    let code: number | undefined;
    const statuses = await whileServing(async () => {
      const c = await raw();
      c.send(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.alloc(20_000));
      code = await c.goawayCode();
    });
    assert.equal(code, ERROR.FRAME_SIZE);
    assertAllServed(statuses);
  });
});
