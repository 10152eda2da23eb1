/**
 * The GC nudge (src/proxy/gc-nudge.ts) asks V8 for a young-generation GC every few MB of body bytes
 * that arrived in fresh Buffers, so that their memory goes back early. Bodies carried in recycled
 * slabs (a Content-Length response on the fast engine) leave no such garbage and ask for none: a
 * forced GC every 40 responses of 100 KB was a fifth of teal's CPU for them (README "Performance").
 */

import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { DataPlane } from "../../src/proxy/data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane, testEngineSetting } from "../support/data-plane.ts";

const BIG = Buffer.alloc(100 * 1024, 0x62);
const MB = 1024 * 1024;

/** Forced minor GCs seen so far, and a way to wait until every one asked for before now has run. */
function forcedGcCounter(): { count: () => number; settled: () => Promise<void>; stop: () => void } {
  let forced = 0;
  let waiting: (() => void) | undefined;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const { detail } = e as unknown as { detail: { kind: number; flags: number } };
      if (detail.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
      if ((detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0) continue;
      forced++;
    }
    if (waiting !== undefined && forced > 0) waiting();
  });
  observer.observe({ entryTypes: ["gc"] });
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (o: { type: "minor"; execution: "async" }) => void;
  return {
    // A GC of our own, asked for last, runs after every one the proxy asked for (one task queue).
    settled: () =>
      new Promise<void>((resolve) => {
        const before = forced;
        waiting = () => {
          if (forced > before) {
            waiting = undefined;
            forced--; // ours
            resolve();
          }
        };
        gc({ type: "minor", execution: "async" });
      }),
    count: () => forced,
    stop: () => observer.disconnect(),
  };
}

function call(port: number, method: string, path: string, agent: Agent, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, agent }, (res) => {
      let n = 0;
      res.on("data", (chunk: Buffer) => {
        n += chunk.length;
      });
      res.on("end", () => resolve(n));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the GC nudge", () => {
  let backend: Backend;
  let plane: DataPlane;
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    backend = await startBackend("blue", (req, res) => {
      let n = 0;
      req.on("data", (chunk: Buffer) => {
        n += chunk.length;
      });
      req.on("end", () => {
        if (req.method === "PUT") res.end(String(n));
        else res.end(BIG); // with a Content-Length
      });
    });
    ({ plane, port } = await startDataPlane([
      serviceSpec("app", { blue: [backend.url], green: [backend.url] }),
    ]));
  });

  after(async () => {
    agent.destroy();
    await plane.close(0);
    await backend.close();
  });

  it("asks for no forced GC for 10 MB of 100 KB downloads carried in recycled buffers", {
    skip: testEngineSetting === "node-http" ? "slabs are the fast engine's" : false,
  }, async () => {
    const gcs = forcedGcCounter();
    try {
      for (let i = 0; i < 100; i++) assert.equal(await call(port, "GET", "/big", agent), BIG.length);
      await gcs.settled();
      assert.equal(gcs.count(), 0, "forced minor GCs during the downloads");
    } finally {
      gcs.stop();
    }
  });

  it("still asks for a minor GC every few MB of uploaded body (fresh Buffers)", async () => {
    const gcs = forcedGcCounter();
    try {
      const body = Buffer.alloc(12 * MB, 0x61);
      assert.equal(await call(port, "PUT", "/up", agent, body), String(body.length).length);
      await gcs.settled();
      assert.ok(gcs.count() >= 2, `forced minor GCs during a 12 MB upload: ${gcs.count()}`);
    } finally {
      gcs.stop();
    }
  });
});
