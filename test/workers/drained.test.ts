import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { CAPABILITIES } from "../../src/config/capabilities.ts";
import type { DataPlanePort } from "../../src/control/data-plane-port.ts";
import { createLogger } from "../../src/log/logger.ts";
import { RoutedDataPlane } from "../../src/routers/routed-data-plane.ts";
import type { Router } from "../../src/routers/router.ts";
import { OwnProxy } from "../../src/routers/teal/own-proxy.ts";
import { TealRouter } from "../../src/routers/teal/teal-router.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import type { DrainReport } from "../../src/traffic/status.ts";
import { ClusterDataPlane } from "../../src/workers/cluster-data-plane.ts";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { get, type Reply } from "../support/http.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** A blue backend that keeps every request open until the test releases it. */
async function holdingBackend(): Promise<Backend & { held: ServerResponse[]; arrived: () => Promise<void> }> {
  const held: ServerResponse[] = [];
  let wake: (() => void) | undefined;
  const backend = await startBackend("blue", (req, res) => {
    req.resume();
    held.push(res);
    wake?.();
  });
  const arrived = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  return Object.assign(backend, { held, arrived });
}

const toGreen = (spec: ServiceSpec): ServiceSpec => ({
  ...spec,
  routing: { ...spec.routing, live: "green", greenPercent: 100 },
});

type Planes = Record<string, (clock: ManualClock) => DataPlanePort>;
const silent = createLogger({ level: "silent" });
const settings = { ...testSettings, accessLog: false };
const planes: Planes = {
  "one process": (clock) => new LocalDataPlane(settings, {}, clock),
  "two worker processes": (clock) => new ClusterDataPlane(settings, 2, silent, undefined, clock),
  "a routed data plane (service on teal's proxy)": (clock) => {
    const own = new OwnProxy(new LocalDataPlane(settings, {}, clock));
    return new RoutedDataPlane(own, new Map([["web", new TealRouter("web", own)]]), () => {}, clock);
  },
};

/** Settles a flag when the promise does, so a test can say it has not yet. */
function track<T>(promise: Promise<T>): { readonly done: boolean; readonly promise: Promise<T> } {
  const state = { done: false, promise };
  promise.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

for (const [name, make] of Object.entries(planes)) {
  describe(`drain completion as an event: ${name}`, () => {
    it("resolves when the last in-flight request on the old color finishes, with no timer left", async () => {
      const blue = await holdingBackend();
      const green = await startBackend("green");
      const clock = new ManualClock();
      const plane = make(clock);
      const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] }, { drainTimeoutMs: 60_000 });
      try {
        await plane.apply({ generation: 1, services: [spec] });
        const url = `http://${await plane.listen()}`;
        // Three requests on their own connections (with two workers they may land on either).
        const replies: Promise<Reply>[] = [];
        for (let i = 0; i < 3; i++) {
          const arrived = blue.arrived();
          replies.push(get(`${url}/${i}`));
          await arrived;
        }
        await plane.apply({ generation: 2, services: [toGreen(spec)] });
        const drained = track(plane.drained("web", "blue", 120_000));

        blue.held[0]!.end("first");
        blue.held[1]!.end("second");
        assert.deepEqual(
          (await Promise.all(replies.slice(0, 2))).map((r) => r.body),
          ["first", "second"],
        );
        const before = await eventually(async () => {
          const d = (await plane.status())[0]?.drains.find((x) => x.color === "blue");
          return d?.remaining === 1 ? d : undefined;
        }, "one request left on blue");
        assert.equal(before.state, "draining");
        assert.equal(drained.done, false, "resolved while a request was still in flight on blue");

        blue.held[2]!.end("third");
        const report = (await drained.promise) as DrainReport;
        assert.equal((await replies[2]!).body, "third");
        assert.equal(report.color, "blue");
        assert.equal(report.state, "drained");
        assert.equal(report.remaining, 0);
        assert.equal(report.forced, 0);
        assert.equal(clock.pendingCount, 0, "the deadline timer was left behind");
        // New requests went to green all along.
        assert.equal((await get(`${url}/after`)).body, "green");
      } finally {
        for (const res of blue.held) res.end();
        await plane.close();
        await Promise.all([blue.close(), green.close()]);
      }
    });

    it("resolves at its deadline on the clock with the drain as it stands, and leaves nothing behind", async () => {
      const blue = await holdingBackend();
      const green = await startBackend("green");
      const clock = new ManualClock();
      const plane = make(clock);
      const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] }, { drainTimeoutMs: 60_000 });
      try {
        await plane.apply({ generation: 1, services: [spec] });
        const url = `http://${await plane.listen()}`;
        const arrived = blue.arrived();
        const reply = get(`${url}/slow`);
        await arrived;
        await plane.apply({ generation: 2, services: [toGreen(spec)] });
        const drained = track(plane.drained("web", "blue", 5_000));
        await clock.advance(4_999);
        assert.equal(drained.done, false);
        await clock.advance(1);
        const report = (await drained.promise) as DrainReport;
        assert.equal(report.state, "draining");
        assert.equal(report.remaining, 1);
        assert.equal(clock.pendingCount, 0);
        blue.held[0]!.end("late");
        assert.equal((await reply).body, "late");
      } finally {
        for (const res of blue.held) res.end();
        await plane.close();
        await Promise.all([blue.close(), green.close()]);
      }
    });

    it("resolves at once when the color has nothing in flight, or has no drain", async () => {
      const blue = await startBackend("blue");
      const green = await startBackend("green");
      const clock = new ManualClock();
      const plane = make(clock);
      const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
      try {
        await plane.apply({ generation: 1, services: [spec] });
        await plane.listen();
        assert.equal(await plane.drained("web", "blue", 5_000), undefined);
        await plane.apply({ generation: 2, services: [toGreen(spec)] });
        const report = await plane.drained("web", "blue", 5_000);
        assert.equal(report?.state, "drained");
        assert.equal(clock.pendingCount, 0);
      } finally {
        await plane.close();
        await Promise.all([blue.close(), green.close()]);
      }
    });
  });
}

/**
 * A switch with nothing in flight on the old color ends that drain at once, in the apply itself.
 * Its report (a "drain finished" log line per proxy process, drain waiters woken) is handled
 * after the apply has resolved and its caller has gone on (the switch call's answer): before,
 * each worker's report came ahead of its acknowledgement and was handled on the call's path.
 */
describe("a switch answers before the drains it ended at once are reported", () => {
  const reporting = {
    "one process": (onDrained: (service: string, r: DrainReport) => void) =>
      new LocalDataPlane(settings, { drained: onDrained }),
    "two worker processes": (onDrained: (service: string, r: DrainReport) => void) =>
      new ClusterDataPlane(settings, 2, silent, onDrained),
  };
  for (const [name, make] of Object.entries(reporting)) {
    it(name, async () => {
      const blue = await startBackend("blue");
      const green = await startBackend("green");
      const events: string[] = [];
      let reported: () => void = () => {};
      const expected = name === "one process" ? 1 : 2;
      const allReported = new Promise<void>((resolve) => {
        reported = resolve;
      });
      const plane = make((service, r) => {
        events.push(`${service} ${r.color} ${r.state}`);
        if (events.filter((e) => e !== "answered").length === expected) reported();
      });
      const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
      try {
        await plane.apply({ generation: 1, services: [spec] });
        await plane.listen();
        // What the switch call does after the apply: its continuation, before any other event.
        await plane.apply({ generation: 2, services: [toGreen(spec)] }).then(() => events.push("answered"));
        await allReported;
        assert.deepEqual(events, ["answered", ...Array<string>(expected).fill("web blue drained")]);
        assert.equal((await plane.drained("web", "blue", 5_000))?.state, "drained");
      } finally {
        await plane.close();
        await Promise.all([blue.close(), green.close()]);
      }
    });
  }
});

describe("drain completion of a service on an external router", () => {
  const router = (status: Router["status"]): Router => ({
    kind: "nginx",
    capabilities: CAPABILITIES.nginx,
    start: async () => {},
    apply: async () => {},
    status,
    close: async () => {},
  });
  const own = new OwnProxy(new LocalDataPlane(settings));

  it("is read back from the router on the clock until it ends, leaving no timer", async () => {
    const clock = new ManualClock();
    let state: DrainReport["state"] = "draining";
    const report = () => ({
      color: "blue" as const,
      state,
      startedAtMs: 0,
      deadlineAtMs: 60_000,
      finishedAtMs: undefined,
      remaining: state === "draining" ? 1 : 0,
      forced: 0,
    });
    let reads = 0;
    const routed = new RoutedDataPlane(
      own,
      new Map([
        [
          "web",
          router(async () => {
            reads++;
            return {
              service: "web",
              generation: 1,
              held: 0,
              drains: [report()],
              endpoints: [],
              stats: {} as never,
            };
          }),
        ],
      ]),
      () => {},
      clock,
    );
    const drained = track(routed.drained("web", "blue", 10_000));
    for (const expected of [1, 2, 3]) {
      await clock.advance(expected === 1 ? 0 : 100);
      assert.equal(reads, expected, "one read every 100 ms on the clock");
    }
    assert.equal(drained.done, false);
    state = "drained";
    await clock.advance(100);
    assert.equal((await drained.promise)?.state, "drained");
    assert.equal(clock.pendingCount, 0);
  });

  it("ends with no report when the router cannot say (the deployment goes on, as before)", async () => {
    const routed = new RoutedDataPlane(
      own,
      new Map([["web", router(async () => Promise.reject(new Error("nginx status unreachable")))]]),
      () => {},
      new ManualClock(),
    );
    assert.equal(await routed.drained("web", "blue", 10_000), undefined);
  });
});
