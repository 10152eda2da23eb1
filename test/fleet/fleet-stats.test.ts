/**
 * The fleet's traffic counters on the store port (the in-memory adapter, on a manual clock):
 * the publisher writes one key per service that had traffic, on its own lease, and nothing for
 * idle services; the reader adds up every node's counters so that a node restarting, leaving or
 * an old answer arriving late never makes a window's counts go down or jump.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Color } from "../../src/domain/color.ts";
import { bucketIndex, emptyCounts } from "../../src/domain/latency-histogram.ts";
import type { TrafficCounts } from "../../src/domain/window-stats.ts";
import { FleetCounters } from "../../src/fleet/fleet-counters.ts";
import { type ServiceCounters, StatsPublisher } from "../../src/fleet/stats-publisher.ts";
import { encodeStats, parseStats, statsKey } from "../../src/fleet/stats-record.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { MAX_PUT_MANY } from "../../src/store/store.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** `ok` 2xx and `errors` 5xx responses, each `ms` long. */
function counts(ok: number, errors: number, ms = 5): TrafficCounts {
  const latencyBuckets = emptyCounts();
  latencyBuckets[bucketIndex(ms)] = ok + errors;
  return { byClass: [0, 0, ok, 0, 0, errors], latencyBuckets };
}

const NONE = counts(0, 0);

async function putStats(store: MemoryStore, node: string, boot: string, green: TrafficCounts): Promise<void> {
  const value = encodeStats({ boot, time: "2026-12-07T00:00:00Z", colors: { blue: NONE, green } });
  await store.put(statsKey("web", node), value);
}

async function green(reader: FleetCounters): Promise<readonly number[]> {
  const [web] = await reader.read("web");
  return web!.stats.green.byClass;
}

describe("a node's stats record", () => {
  it("round-trips through its JSON, keeping only the non-empty latency buckets", () => {
    const record = {
      boot: "b1",
      time: "2026-12-07T00:00:00Z",
      colors: { blue: counts(3, 1, 12), green: NONE },
    };
    const text = encodeStats(record);
    assert.match(text, /"latency":\[\[\d+,4\]\]/);
    assert.deepEqual(parseStats(text), record);
  });

  it("is skipped when it is not one (a reader never adds garbage)", () => {
    for (const bad of [
      "",
      "{}",
      '{"boot":"b","time":"t","colors":{"green":{"byClass":[1],"latency":[]}}}',
      '{"boot":"b","time":"t","colors":{"green":{"byClass":[0,0,1,0,0,0],"latency":[[99,1]]}}}',
      '{"boot":"b","time":"t","colors":{"green":{"byClass":[0,0,-1,0,0,0],"latency":[]}}}',
    ]) {
      assert.equal(parseStats(bad), undefined, bad);
    }
  });
});

describe("the fleet's counters", () => {
  it("add every node's, and zero before any node served", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const reader = new FleetCounters(store);
    assert.deepEqual(await green(reader), [0, 0, 0, 0, 0, 0]);
    await putStats(store, "a", "a1", counts(10, 0));
    await putStats(store, "b", "b1", counts(5, 5));
    assert.deepEqual(await green(reader), [0, 0, 15, 0, 0, 5]);
    await putStats(store, "b", "b1", counts(8, 9));
    assert.deepEqual(await green(reader), [0, 0, 18, 0, 0, 9]);
    const [web] = await reader.read("web");
    assert.equal(web!.stats.green.latencyBuckets[bucketIndex(5)], 27);
    await store.close();
  });

  it("count a restarted node's requests since its restart, not a negative rate", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const reader = new FleetCounters(store);
    await putStats(store, "a", "a1", counts(100, 10));
    assert.deepEqual(await green(reader), [0, 0, 100, 0, 0, 10]);
    // Restarted: its counters start again from 0 under a new boot.
    await putStats(store, "a", "a2", counts(3, 1));
    assert.deepEqual(await green(reader), [0, 0, 103, 0, 0, 11]);
    await store.close();
  });

  it("stop growing with a node that left, and take it back where it was", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const reader = new FleetCounters(store);
    await putStats(store, "a", "a1", counts(10, 0));
    await putStats(store, "b", "b1", counts(10, 0));
    assert.deepEqual(await green(reader), [0, 0, 20, 0, 0, 0]);
    await store.delete(statsKey("web", "b")); // its lease expired
    await putStats(store, "a", "a1", counts(12, 0));
    assert.deepEqual(await green(reader), [0, 0, 22, 0, 0, 0]);
    // Back with the same boot (it was cut off, not restarted): only what it served since counts.
    await putStats(store, "b", "b1", counts(11, 0));
    assert.deepEqual(await green(reader), [0, 0, 23, 0, 0, 0]);
    await store.close();
  });

  it("ignore an older read that answers after a newer one", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    // The first list answers only once the test lets it: after a later one has been added in.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let lists = 0;
    const slowFirst = new Proxy(store, {
      get(target, key) {
        if (key === "list") {
          return async (prefix: string) => {
            const answer = await target.list(prefix);
            if (++lists === 1) await held;
            return answer;
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const reader = new FleetCounters(slowFirst);
    await putStats(store, "a", "a1", counts(10, 0));
    const older = reader.read("web");
    await putStats(store, "a", "a1", counts(20, 0));
    assert.deepEqual(await green(reader), [0, 0, 20, 0, 0, 0]);
    release();
    await older;
    await putStats(store, "a", "a1", counts(25, 0));
    // Counted once each: had the older answer been taken, 10 -> 20 would count twice (35).
    assert.deepEqual(await green(reader), [0, 0, 25, 0, 0, 0]);
    await store.close();
  });
});

describe("the stats publisher", () => {
  it("writes each service with traffic once per interval on its lease, skips idle ones, and leaves at once on close", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    const live: Record<string, Record<Color, TrafficCounts>> = {
      web: { blue: counts(4, 0), green: NONE },
      idle: { blue: NONE, green: NONE },
    };
    const status = async (): Promise<ServiceCounters[]> =>
      Object.entries(live).map(([service, stats]) => ({ service, stats }));
    const publisher = new StatsPublisher(store, { node: "edge-1", ttlMs: 6_000, clock, counters: status });
    publisher.start();
    await clock.advance(0);
    const written = async () => (await store.list("stats/")).items.map((kv) => kv.key);
    assert.deepEqual(await written(), ["stats/web/edge-1"]);
    const first = (await store.get("stats/web/edge-1"))!;
    assert.ok(first.lease !== undefined, "on a lease");

    await clock.advance(1_000);
    assert.equal(
      (await store.get("stats/web/edge-1"))!.modRevision,
      first.modRevision,
      "nothing new: no write",
    );
    live.web = { blue: counts(9, 1), green: NONE };
    await clock.advance(1_000);
    const second = parseStats((await store.get("stats/web/edge-1"))!.value)!;
    assert.deepEqual(second.colors.blue!.byClass, [0, 0, 9, 0, 0, 1]);
    // Kept alive by the same passes: still there long after one TTL.
    await clock.advance(20_000);
    assert.deepEqual(await written(), ["stats/web/edge-1"]);

    await publisher.close();
    assert.deepEqual(await written(), []);
    assert.equal(clock.pendingCount, 0);
    await store.close();
  });

  it("writes 250 busy services in 3 transactions (at most MAX_PUT_MANY keys each), not 250 writes", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    const services = Array.from({ length: 250 }, (_, i) => `svc-${String(i).padStart(3, "0")}`);
    let served = 1;
    const counters = async (): Promise<ServiceCounters[]> =>
      services.map((service) => ({ service, stats: { blue: counts(served, 0), green: NONE } }));
    const publisher = new StatsPublisher(store, { node: "edge-1", ttlMs: 6_000, clock, counters });
    const revisions = async () => {
      const { items } = await store.list("stats/");
      return { keys: items.length, writes: new Set(items.map((kv) => kv.modRevision)).size };
    };
    publisher.start();
    await clock.advance(0);
    assert.deepEqual(await revisions(), { keys: 250, writes: Math.ceil(250 / MAX_PUT_MANY) });
    served = 2;
    await clock.advance(1_000);
    assert.deepEqual(await revisions(), { keys: 250, writes: Math.ceil(250 / MAX_PUT_MANY) });
    assert.deepEqual(
      parseStats((await store.get("stats/svc-249/edge-1"))!.value)!.colors.blue!.byClass,
      [0, 0, 2, 0, 0, 0],
    );
    await publisher.close();
    await store.close();
  });

  it("writes every service again under a new lease when its lease expired (etcd was out of reach)", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    const counters = async (): Promise<ServiceCounters[]> => [
      { service: "web", stats: { blue: counts(1, 0), green: NONE } },
    ];
    const publisher = new StatsPublisher(store, { node: "edge-1", ttlMs: 3_000, clock, counters });
    publisher.start();
    await clock.advance(0);
    const lease = (await store.get("stats/web/edge-1"))!.lease!;
    await store.revokeLease(lease); // as if it had expired
    assert.equal(await store.get("stats/web/edge-1"), undefined);
    await clock.advance(1_000);
    const again = await store.get("stats/web/edge-1");
    assert.ok(again !== undefined && again.lease !== lease, "written again on a new lease");
    await publisher.close();
    await store.close();
  });
});
