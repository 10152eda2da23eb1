import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { Client } from "undici";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";

/** Counts the TCP connections a backend accepted. */
function countConnections(backend: Backend): { readonly accepted: number } {
  const counter = { accepted: 0 };
  backend.server.on("connection", () => counter.accepted++);
  return counter;
}

const hosted = (name: string, blue: string[], green: string[] = []): ServiceSpec =>
  serviceSpec(name, { blue, green }, { routes: [{ host: `${name}.test`, path: "/", stripPrefix: false }] });

async function send(client: Client, host: string): Promise<{ status: number; body: string }> {
  const res = await client.request({ method: "GET", path: "/", headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

describe("upstream pools shared per backend address", () => {
  it("ten services on one backend reuse one upstream connection for sequential requests", async () => {
    const backend = await startBackend("app");
    const conns = countConnections(backend);
    const services = Array.from({ length: 10 }, (_, i) => hosted(`s${i}`, [backend.url]));
    const { plane, url } = await startDataPlane(services);
    const client = new Client(url);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++)
          assert.deepEqual(await send(client, `s${i}.test`), { status: 200, body: "app" });
      }
      // One pool per service would have opened ten.
      assert.equal(conns.accepted, 1);
    } finally {
      await client.close();
      await plane.close();
      await backend.close();
    }
  });

  it("keeps each service's stats apart while they share the pool", async () => {
    const backend = await startBackend("app");
    const { plane, url } = await startDataPlane([hosted("a", [backend.url]), hosted("b", [backend.url])]);
    const client = new Client(url);
    try {
      for (let i = 0; i < 3; i++) await send(client, "a.test");
      for (let i = 0; i < 7; i++) await send(client, "b.test");
      const byName = new Map(plane.status().map((s) => [s.service, s]));
      assert.equal(byName.get("a")!.stats.blue.byClass[2], 3);
      assert.equal(byName.get("b")!.stats.blue.byClass[2], 7);
      assert.deepEqual(
        byName.get("a")!.endpoints.map((e) => e.url),
        [backend.url],
      );
    } finally {
      await client.close();
      await plane.close();
      await backend.close();
    }
  });

  it("caps upstream connections per backend address across the services that share it", async () => {
    const held: ServerResponse[] = [];
    let answer = false;
    const backend = await startBackend("app", (req, res) => {
      req.resume();
      if (answer) res.end("ok");
      else held.push(res);
    });
    const conns = countConnections(backend);
    const { plane, url } = await startDataPlane([hosted("a", [backend.url]), hosted("b", [backend.url])], {
      upstreamConnections: 2,
    });
    const clients = Array.from({ length: 6 }, () => new Client(url));
    try {
      const replies = clients.map((c, i) => send(c, i % 2 === 0 ? "a.test" : "b.test"));
      // Every request has reached the proxy and asked the pool (two connect, four wait in its queue).
      await inProcess(() => plane.status().reduce((n, s) => n + s.stats.blue.inFlight, 0) === 6);
      answer = true;
      for (const res of held.splice(0)) res.end("ok");
      const all = await Promise.all(replies);
      assert.deepEqual(
        all.map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
      );
      // A pool per service would have opened two each.
      assert.equal(conns.accepted, 2);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await plane.close();
      await backend.close();
    }
  });

  it("keeps a shared backend's connections when one service stops listing it", async () => {
    const shared = await startBackend("shared");
    const other = await startBackend("other");
    const conns = countConnections(shared);
    const a = hosted("a", [shared.url]);
    const b = hosted("b", [shared.url]);
    const { plane, url, generation } = await startDataPlane([a, b]);
    const client = new Client(url);
    try {
      assert.equal((await send(client, "a.test")).body, "shared");
      assert.equal((await send(client, "b.test")).body, "shared");
      plane.apply({ generation: generation.next(), services: [hosted("a", [other.url]), b] });
      assert.equal((await send(client, "a.test")).body, "other");
      assert.equal((await send(client, "b.test")).body, "shared");
      plane.apply({ generation: generation.next(), services: [b] });
      assert.equal((await send(client, "b.test")).body, "shared");
      assert.equal(conns.accepted, 1);
    } finally {
      await client.close();
      await plane.close();
      await Promise.all([shared.close(), other.close()]);
    }
  });
});

/** Waits for a condition on objects of this process, turn by turn of the event loop (bounded). */
async function inProcess(condition: () => boolean): Promise<void> {
  for (let turns = 0; turns < 100_000; turns++) {
    if (condition()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error("condition never held");
}
