import assert from "node:assert/strict";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { Client } from "undici";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import type { DrainReport } from "../../src/traffic/status.ts";
import { startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get, load } from "../support/http.ts";

const toGreen = (spec: ServiceSpec): ServiceSpec => ({
  ...spec,
  routing: { ...spec.routing, live: "green", greenPercent: 100 },
});
const toBlue = (spec: ServiceSpec): ServiceSpec => ({
  ...spec,
  routing: { ...spec.routing, live: "blue", greenPercent: 0 },
});

describe("switching colors", () => {
  it("loses no request while the live color flips 40 times under keep-alive load", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    const { plane, url, generation } = await startDataPlane([spec]);
    let flips = 0;
    const result = await load(`${url}/`, {
      total: 4_000,
      connections: 32,
      onReply: (_r, i) => {
        if (i % 100 === 99 && flips < 40) {
          flips++;
          plane.apply({
            generation: generation.next(),
            services: [flips % 2 ? toGreen(spec) : toBlue(spec)],
          });
        }
      },
    });
    await plane.close();
    await Promise.all([blue.close(), green.close()]);
    assert.equal(flips, 40);
    assert.equal(result.errors, 0, result.samples.join("; "));
    assert.equal(result.non2xx, 0, result.samples.join("; "));
    assert.ok(
      (result.bodies.get("blue") ?? 0) > 500 && (result.bodies.get("green") ?? 0) > 500,
      "both colors served",
    );
  });

  it("routes the very next request to the new color once apply returns", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    const { plane, url, generation } = await startDataPlane([spec]);
    const client = new Client(url);
    for (let i = 0; i < 20; i++) {
      const target = i % 2 === 0 ? toGreen(spec) : toBlue(spec);
      plane.apply({ generation: generation.next(), services: [target] });
      const res = await client.request({ path: "/", method: "GET" });
      assert.equal(await res.body.text(), target.routing.live);
    }
    await client.close();
    await plane.close();
    await Promise.all([blue.close(), green.close()]);
  });

  it("keeps a keep-alive client connection open across a switch", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    const { plane, url, generation } = await startDataPlane([spec]);
    const client = new Client(url, { pipelining: 1 });
    let connects = 0;
    client.on("connect", () => connects++);
    const first = await client.request({ path: "/", method: "GET" });
    assert.equal(await first.body.text(), "blue");
    plane.apply({ generation: generation.next(), services: [toGreen(spec)] });
    const second = await client.request({ path: "/", method: "GET" });
    assert.equal(await second.body.text(), "green");
    assert.equal(connects, 1, "both requests used the same client connection");
    await client.close();
    await plane.close();
    await Promise.all([blue.close(), green.close()]);
  });

  it("lets requests in flight finish on the old color and reports it drained", async () => {
    const held: ServerResponse[] = [];
    const arrived = new EventTarget();
    const blue = await startBackend("blue", (_req, res) => {
      held.push(res);
      arrived.dispatchEvent(new Event("request"));
    });
    const green = await startBackend("green");
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    const drains: DrainReport[] = [];
    const drained = new EventTarget();
    const { plane, url, generation } = await startDataPlane(
      [spec],
      {},
      {
        drained: (_s, r) => {
          drains.push(r);
          drained.dispatchEvent(new Event("done"));
        },
      },
    );
    const slow = get(`${url}/slow`);
    await once(arrived, "request");
    plane.apply({ generation: generation.next(), services: [toGreen(spec)] });
    assert.equal((await get(`${url}/`)).body, "green", "new requests go to green at once");
    assert.equal(plane.status()[0]!.drains[0]!.state, "draining");
    held[0]!.end("blue-finished");
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.body, "blue-finished");
    if (drains.length === 0) await once(drained, "done");
    assert.equal(drains[0]!.color, "blue");
    assert.equal(drains[0]!.state, "drained");
    assert.equal(drains[0]!.forced, 0);
    await plane.close();
    await Promise.all([blue.close(), green.close()]);
  });

  it("cuts requests still running on the old color at the drain deadline and reports them", async () => {
    const arrived = new EventTarget();
    const blue = await startBackend("blue", () => arrived.dispatchEvent(new Event("request")));
    const green = await startBackend("green");
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] }, { drainTimeoutMs: 150 });
    const drained = new EventTarget();
    let report: DrainReport | undefined;
    const { plane, url, generation } = await startDataPlane(
      [spec],
      {},
      {
        drained: (_s, r) => {
          report = r;
          drained.dispatchEvent(new Event("done"));
        },
      },
    );
    const stuck = get(`${url}/forever`).then(
      (r) => r.status,
      () => "connection cut",
    );
    await once(arrived, "request");
    plane.apply({ generation: generation.next(), services: [toGreen(spec)] });
    await once(drained, "done");
    assert.equal(report?.state, "forced");
    assert.equal(report?.forced, 1);
    assert.ok(["connection cut", 502].includes((await stuck) as never));
    await plane.close();
    await Promise.all([blue.close(), green.close()]);
  });

  it("switching one service of 200 leaves another's in-flight request and keep-alive connections alone", async () => {
    const held: ServerResponse[] = [];
    const arrived = new EventTarget();
    const blue = await startBackend("blue", (req, res) => {
      req.resume();
      if (req.url !== "/slow") return void res.end("blue");
      held.push(res);
      arrived.dispatchEvent(new Event("request"));
    });
    const green = await startBackend("green");
    let blueConnections = 0;
    blue.server.on("connection", () => blueConnections++);
    const services = Array.from({ length: 200 }, (_, i) =>
      serviceSpec(
        `s${i}`,
        { blue: [blue.url], green: [green.url] },
        { routes: [{ host: `s${i}.test`, path: "/", stripPrefix: false }] },
      ),
    );
    const { plane, url, generation } = await startDataPlane(services);
    const slowClient = new Client(url);
    const client = new Client(url, { pipelining: 1 });
    let connects = 0;
    client.on("connect", () => connects++);
    const ask = async (c: Client, host: string, path = "/") => {
      const res = await c.request({ method: "GET", path, headers: { host } });
      return res.body.text();
    };
    try {
      assert.equal(await ask(client, "s1.test"), "blue");
      const slow = ask(slowClient, "s1.test", "/slow");
      await once(arrived, "request");
      const switched = [toGreen(services[0]!), ...services.slice(1)];
      plane.apply({ generation: generation.next(), services: switched });
      assert.equal(await ask(client, "s0.test"), "green");
      assert.equal(await ask(client, "s1.test"), "blue");
      const before = blueConnections; // one carries the slow request, one the others
      held[0]!.end("blue-finished");
      assert.equal(await slow, "blue-finished");
      assert.equal(await ask(client, "s1.test"), "blue");
      assert.equal(connects, 1, "s1's client kept its connection");
      assert.equal(blueConnections, before, "s1's requests kept using the warm upstream connections");
      const s1 = plane.status().find((s) => s.service === "s1")!;
      assert.deepEqual(s1.drains, [], "nothing of s1 was drained");
      assert.equal(s1.stats.blue.byClass[2], 4);
    } finally {
      await Promise.all([client.close(), slowClient.close()]);
      await plane.close();
      await Promise.all([blue.close(), green.close()]);
    }
  });
});
