/**
 * The admin API's body limit on a real @hono/node-server socket: small JSON bodies, sent with a
 * Content-Length (the CLI, a switch) or chunked, reach the handler; larger ones get 413. A request
 * with a Content-Length is judged by its headers and read straight off the Node request, never made
 * into a WHATWG Request (undici headers, an AbortSignal, a web stream: ~0.3 ms of CPU per call).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { z } from "zod";
import { limitBodySize, MAX_BODY_BYTES, readBody } from "../../src/api/body.ts";
import { errorResponse } from "../../src/api/errors.ts";

/** Whether @hono/node-server made its lightweight request into a full WHATWG Request. */
const materialized = (raw: Request) => !/nativeRequest: undefined/.test(inspect(raw, { depth: 2 }));

describe("the admin API's body limit", () => {
  let url: string;
  let server: ReturnType<typeof createAdaptorServer>;
  const seen: { materialized: boolean }[] = [];

  before(async () => {
    const app = new Hono();
    app.onError((err, c) => errorResponse(c, err));
    app.use("*", limitBodySize());
    app.post("/echo", async (c) => {
      const body = await readBody(c, z.strictObject({ to: z.string() }));
      seen.push({ materialized: materialized(c.req.raw) });
      return c.json(body);
    });
    app.get("/status", (c) => {
      seen.push({ materialized: materialized(c.req.raw) });
      return c.json({ ok: true });
    });
    server = createAdaptorServer({ fetch: app.fetch });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("reads a body sent with a Content-Length, and a GET, without building a WHATWG Request", async () => {
    seen.length = 0;
    const post = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "green" }),
    });
    assert.equal(post.status, 200);
    assert.deepEqual(await post.json(), { to: "green" });
    const get = await fetch(`${url}/status`);
    assert.equal(get.status, 200);
    await get.body?.cancel();
    assert.deepEqual(seen, [{ materialized: false }, { materialized: false }]);
  });

  it("still reads a small chunked body, and still refuses large ones with 413 PAYLOAD_TOO_LARGE", async () => {
    const chunked = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([JSON.stringify({ to: "blue" })]).stream(),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 200);
    assert.deepEqual(await chunked.json(), { to: "blue" });

    const big = JSON.stringify({ to: "x".repeat(MAX_BODY_BYTES) });
    const withLength = await fetch(`${url}/echo`, { method: "POST", body: big });
    assert.equal(withLength.status, 413);
    assert.equal(((await withLength.json()) as { error: { code: string } }).error.code, "PAYLOAD_TOO_LARGE");
    const streamed = await fetch(`${url}/echo`, {
      method: "POST",
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, "PAYLOAD_TOO_LARGE");
  });
});
