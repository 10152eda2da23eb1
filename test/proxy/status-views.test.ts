/**
 * The data plane's status views under traffic: the live sampler reads every service once a second,
 * and with 1,000 busy services only the counters change between two reads. A new view hands on the
 * parts that did not change (endpoints, drains) instead of building them again.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "undici";
import { DataPlane } from "../../src/proxy/data-plane.ts";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { startBackend } from "../support/backends.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";

describe("status views of busy services", () => {
  it("a busy service's new view keeps its unchanged endpoints and drains, and has the new counts", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const plane = new DataPlane({ ...testSettings, accessLog: false });
    const app = serviceSpec("app", { blue: [blue.url], green: [green.url] });
    plane.apply({ generation: 1, services: [app] });
    const address = await plane.listen();
    const client = new Client(`http://127.0.0.1:${address.port}`);
    const get = async () => {
      const res = await client.request({ method: "GET", path: "/" });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    };
    try {
      // A switch leaves a (finished) drain of blue in the view.
      plane.apply({
        generation: 2,
        services: [{ ...app, routing: { ...app.routing, live: "green", greenPercent: 100 } }],
      });
      await get();
      const first = plane.status()[0]!;
      assert.equal(first.drains.length, 1);
      await get();
      const second = plane.status()[0]!;
      assert.notEqual(second, first, "new traffic: a new view");
      assert.equal(second.stats.green.byClass[2], 2);
      assert.equal(second.endpoints, first.endpoints, "the same endpoints list");
      assert.equal(second.drains, first.drains, "the same drains list");
      assert.deepEqual(
        second.endpoints.map((e) => [e.color, e.url, e.healthy]),
        [
          ["blue", blue.url, true],
          ["green", green.url, true],
        ],
      );
    } finally {
      await client.close();
      await plane.close(0);
      await blue.close();
      await green.close();
    }
  });

  it("reads 1,000 services in slices, with turns of the event loop between, as teal server's sampler does", async () => {
    // With one proxy process the live sampler's read shares the event loop with the requests.
    const plane = new LocalDataPlane({ ...testSettings, accessLog: false });
    const services = Array.from({ length: 1_000 }, (_, i) =>
      serviceSpec(
        `s${i}`,
        { blue: ["http://127.0.0.1:1"], green: ["http://127.0.0.1:2"] },
        { routes: [{ host: `s${i}.test`, path: "/", stripPrefix: false }] },
      ),
    );
    await plane.apply({ generation: 1, services });
    try {
      let turns = 0;
      let done = false;
      const turn = () => {
        if (done) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      const first = await plane.status();
      done = true;
      assert.ok(turns >= 9, `${turns} turns of the event loop during the read`);
      assert.deepEqual(
        first.map((v) => v.service),
        services.map((s) => s.name),
      );
      const again = await plane.status();
      assert.ok(
        again.every((view, i) => view === first[i]),
        "nothing changed: the very same views, in order",
      );
    } finally {
      await plane.close();
    }
  });
});
