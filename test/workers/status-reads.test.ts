import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "undici";
import { parseConfigText } from "../../src/config/load.ts";
import { createLogger } from "../../src/log/logger.ts";
import { DataPlane } from "../../src/proxy/data-plane.ts";
import { startServer } from "../../src/server/teal-server.ts";
import type { DataPlaneSpec, ServiceSpec } from "../../src/traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../../src/traffic/status.ts";
import { ClusterDataPlane } from "../../src/workers/cluster-data-plane.ts";
import { StatusLog } from "../../src/workers/status-log.ts";
import { startBackend } from "../support/backends.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { tempDir } from "../support/teal-process.ts";

const settings = { ...testSettings, accessLog: false };

function spec(generation: number, count: number, blue: string, green: string): DataPlaneSpec {
  return {
    generation,
    services: Array.from({ length: count }, (_, i) =>
      serviceSpec(
        `s${i}`,
        { blue: [blue], green: [green] },
        { routes: [{ host: `s${i}.test`, path: "/", stripPrefix: false }] },
      ),
    ),
  };
}

/** The service switched to green, as a switch command leaves it. */
const switched = (s: ServiceSpec): ServiceSpec => ({
  ...s,
  routing: { ...s.routing, live: "green", greenPercent: 100 },
});

const okOf = (s: ServiceRuntimeStatus | undefined) =>
  s ? s.stats.blue.byClass[2]! + s.stats.green.byClass[2]! : -1;

async function get(client: Client, host: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    // A fresh connection each time: with two workers, both take some.
    const res = await client.request({ method: "GET", path: "/", headers: { host }, reset: true });
    assert.equal(res.statusCode, 200);
    await res.body.text();
  }
}

describe("status reads send only what changed", () => {
  it("a proxy hands out the same view for an unchanged service, and a cursor read lists only the changed ones", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const plane = new DataPlane(settings);
    plane.apply(spec(1, 3, blue.url, green.url));
    const address = await plane.listen();
    const client = new Client(`http://127.0.0.1:${address.port}`);
    const log = new StatusLog();
    try {
      const first = log.read(plane.status());
      assert.deepEqual(first.names, ["s0", "s1", "s2"]);
      assert.equal(first.changed.length, 3);

      const quiet = log.read(plane.status(), first.cursor);
      assert.deepEqual(quiet.changed, [], "nothing changed: nothing to send");
      assert.equal(quiet.names, undefined);

      await get(client, "s1.test", 4);
      const views = plane.status();
      assert.equal(views[0], first.changed[0], "s0 had no traffic: the same view");
      const busy = log.read(views, quiet.cursor);
      assert.deepEqual(
        busy.changed.map((s) => s.service),
        ["s1"],
      );
      assert.equal(okOf(busy.changed[0]), 4);

      // A reader that last read before the traffic gets it too; one from before everything, all.
      assert.deepEqual(
        log.read(plane.status(), first.cursor).changed.map((s) => s.service),
        ["s1"],
      );
      assert.equal(log.read(plane.status()).changed.length, 3);

      // A switch gives s2 a drain: its view changes once, not on every read after.
      plane.apply({
        generation: 2,
        services: spec(1, 3, blue.url, green.url).services.map((s, i) => (i === 2 ? switched(s) : s)),
      });
      const drained = log.read(plane.status(), busy.cursor);
      assert.deepEqual(
        drained.changed.map((s) => s.service),
        ["s2"],
      );
      assert.equal(drained.changed[0]!.drains[0]?.state, "drained");
      assert.deepEqual(log.read(plane.status(), drained.cursor).changed, [], "the finished drain is no news");
      assert.equal(plane.status()[2], plane.status()[2], "the same view for the switched service");

      plane.apply(spec(3, 2, blue.url, green.url));
      const fewer = log.read(plane.status(), busy.cursor);
      assert.deepEqual(fewer.names, ["s0", "s1"], "the set of services changed: the names say which remain");
    } finally {
      await client.close();
      await plane.close(0);
      await Promise.all([blue.close(), green.close()]);
    }
  });

  it("over two proxy workers, an idle read receives nothing and a busy service alone crosses; a new worker sends all", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const plane = new ClusterDataPlane(settings, 2, createLogger({ level: "silent" }));
    const base = spec(1, 100, blue.url, green.url);
    await plane.apply(base);
    const address = await plane.listen();
    const client = new Client(`http://${address}`);
    try {
      const first = await plane.status();
      assert.equal(first.length, 100);
      assert.equal(plane.statusViewsReceived, 200, "each worker's first read: every service");

      const again = await plane.status();
      assert.equal(plane.statusViewsReceived, 200, "no traffic: no service crossed");
      assert.ok(
        again.every((s, i) => s === first[i]),
        "every view is the same object as before",
      );

      await get(client, "s7.test", 10);
      const busy = await plane.status();
      assert.ok(plane.statusViewsReceived - 200 <= 2, "only s7, at most once per worker");
      assert.equal(okOf(busy.find((s) => s.service === "s7")), 10, "the counts of both workers, summed");
      assert.ok(busy.every((s, i) => s.service === "s7" || s === first[i]));

      // A switch of one service does not make the others' views new; the switched one crosses
      // once (its drain), and not again once the drain has finished.
      await plane.apply({
        generation: 2,
        services: base.services.map((s, i) => (i === 3 ? switched(s) : s)),
      });
      const switchedAt = plane.statusViewsReceived;
      const afterSwitch = await plane.status();
      assert.ok(plane.statusViewsReceived - switchedAt <= 2, "only s3, at most once per worker");
      assert.equal(afterSwitch.find((s) => s.service === "s3")?.drains[0]?.state, "drained");
      const before = plane.statusViewsReceived;
      await plane.status();
      await plane.status();
      assert.equal(plane.statusViewsReceived, before, "a finished drain is not news on every read");

      const [victim] = await workerPids(plane);
      process.kill(victim!, "SIGKILL");
      await eventually(async () => {
        const now = await plane.status();
        return now.length === 100 && plane.statusViewsReceived >= before + 100;
      }, "the replacement worker's first, full read");
      assert.deepEqual(
        (await plane.status()).map((s) => s.service),
        first.map((s) => s.service),
      );
    } finally {
      await client.close();
      await plane.close(0);
      await Promise.all([blue.close(), green.close()]);
    }
  });
});

describe("the server's first status read", () => {
  it("is done before the admin API answers, so the first commands do not wait for every service's view", async () => {
    const dir = await tempDir();
    const services = Array.from(
      { length: 50 },
      (_, i) => `  s${i}:\n    routes: [{ host: s${i}.test }]\n    blue: [http://127.0.0.1:9]`,
    );
    const config = parseConfigText(
      `proxy: { listen: 127.0.0.1:0, workers: 2, accessLog: false }\nadmin: { listen: 127.0.0.1:0 }\nservices:\n${services.join("\n")}\n`,
    );
    const server = await startServer(config, dir.path, createLogger({ level: "silent" }));
    try {
      // The sampler's timer fires a second after the start: this read is the start-up one.
      assert.equal(server.live.cost.ticks, 1, "one read before the admin API answered");
      const views = await server.dataPlane.status();
      assert.equal(views.length, 50);
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});

async function workerPids(plane: ClusterDataPlane): Promise<number[]> {
  return plane.workerPids();
}
