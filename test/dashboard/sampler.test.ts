import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dashboardRoutes } from "../../src/api/dashboard-assets.ts";
import type { LiveMarker, LiveSample } from "../../src/api/live/live-types.ts";
import { LiveSampler } from "../../src/api/live/sampler.ts";
import { COLORS } from "../../src/domain/color.ts";
import { ColorStats } from "../../src/traffic/color-stats.ts";
import type { ServiceRuntimeStatus } from "../../src/traffic/status.ts";

/** A fake data plane's counters: cumulative per-color stats we feed requests into. */
function fakeRuntime(services: string[]) {
  const stats = new Map(services.map((s) => [s, { blue: new ColorStats(), green: new ColorStats() }]));
  const runtime = async (): Promise<ServiceRuntimeStatus[]> =>
    services.map((service) => ({
      service,
      generation: 1,
      held: 0,
      drains: [],
      endpoints: [],
      stats: {
        blue: stats.get(service)!.blue.snapshot(0),
        green: stats.get(service)!.green.snapshot(0),
      },
    }));
  return { stats, runtime };
}

describe("the live sampler", () => {
  it("turns two reads of the counters into requests/s, error rate and p50/p99 of that second", async () => {
    const { stats, runtime } = fakeRuntime(["web"]);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    const seen: LiveSample[] = [];
    sampler.subscribe((item) => item.kind === "sample" && seen.push(item.sample));
    await sampler.tick(); // the first read is the baseline: no sample yet
    assert.equal(seen.length, 0);
    const web = stats.get("web")!;
    for (let i = 0; i < 90; i++) web.green.record(200, 10, 0, 0);
    for (let i = 0; i < 10; i++) web.green.record(503, 100, 0, 0);
    for (let i = 0; i < 50; i++) web.blue.record(200, 5, 0, 0);
    now += 2000;
    await sampler.tick();
    const [s] = seen;
    assert.equal(s!.at, now);
    assert.equal(s!.services.web!.green.rps, 50);
    assert.equal(s!.services.web!.green.errorRate, 0.1);
    assert.ok(s!.services.web!.green.p50Ms! <= 10 && s!.services.web!.green.p50Ms! > 8);
    assert.ok(s!.services.web!.green.p99Ms! > 80);
    assert.equal(s!.services.web!.blue.rps, 25);
    now += 1000;
    await sampler.tick();
    assert.deepEqual(seen[1]!.services.web!.green, { rps: 0, errorRate: null, p50Ms: null, p99Ms: null });
  });

  it("gives no point, not a negative rate, for the second in which counters started again", async () => {
    const { stats, runtime } = fakeRuntime(["web"]);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    const seen: LiveSample[] = [];
    sampler.subscribe((item) => item.kind === "sample" && seen.push(item.sample));
    const web = stats.get("web")!;
    for (let i = 0; i < 100; i++) web.blue.record(200, 5, 0, 0);
    await sampler.tick();
    web.blue = new ColorStats(); // a respawned proxy worker: its counters start at 0
    for (let i = 0; i < 10; i++) web.blue.record(200, 5, 0, 0);
    now += 1000;
    await sampler.tick();
    assert.deepEqual(seen[0]!.services.web!.blue, { rps: 0, errorRate: null, p50Ms: null, p99Ms: null });
    for (let i = 0; i < 30; i++) web.blue.record(200, 5, 0, 0);
    now += 1000;
    await sampler.tick();
    assert.equal(seen[1]!.services.web!.blue.rps, 30);
  });

  it("keeps only the last minutes of samples and markers", async () => {
    const { runtime } = fakeRuntime(["web"]);
    let now = 0;
    const sampler = new LiveSampler({ runtime, now: () => now, historyMs: 10_000 });
    for (let i = 0; i < 30; i++) {
      now += 1000;
      await sampler.tick();
      sampler.mark({ service: "web", kind: "weight", text: `step ${i}` });
    }
    const h = sampler.history();
    assert.equal(h.samples.length, 11);
    assert.equal(h.samples[0]!.at, now - 10_000);
    assert.equal(h.markers.length, 11);
    assert.equal((h.markers.at(-1) as LiveMarker).text, "step 29");
  });

  it("keeps history only for services with traffic; the others read as zero in every sample", async () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `svc${i}`);
    const { stats, runtime } = fakeRuntime(names);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    await sampler.tick();
    for (let i = 1; i <= 5; i++) {
      for (let n = 0; n < 10 * i; n++) stats.get("svc7")!.green.record(200, 4, 0, 0);
      now += 1000;
      await sampler.tick();
    }
    assert.equal(sampler.servicesWithHistory, 1, "only svc7 had traffic");
    const { samples } = sampler.history();
    assert.equal(samples.length, 5);
    assert.deepEqual(
      samples.map((s) => s.services.svc7!.green.rps),
      [10, 20, 30, 40, 50],
    );
    const zero = { rps: 0, errorRate: null, p50Ms: null, p99Ms: null };
    assert.deepEqual(samples.at(-1)!.services.svc7!.blue, zero);
    for (const sample of samples) {
      assert.equal(Object.keys(sample.services).length, 1_000, "every service is in every sample");
      assert.deepEqual(sample.services.svc999, { blue: zero, green: zero });
    }
  });

  it("lets the event loop turn at least every 100 services while it passes over 1,000 busy ones", async () => {
    // In `teal server` with one proxy process the proxy shares this event loop: a pass in one go
    // held every request in flight for its whole length once a second.
    const names = Array.from({ length: 1_000 }, (_, i) => `svc${i}`);
    const { stats, runtime } = fakeRuntime(names);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    await sampler.tick();
    for (const s of stats.values()) for (let n = 0; n < 20; n++) s.blue.record(200, n + 1, 0, 0);
    now += 1000;
    let turns = 0;
    let done = false;
    const turn = () => {
      if (done) return;
      turns++;
      setImmediate(turn);
    };
    setImmediate(turn);
    await sampler.tick();
    done = true;
    assert.ok(turns >= 9, `${turns} turns of the event loop during the pass`);
    const last = sampler.history().samples.at(-1)!;
    assert.equal(last.services.svc0!.blue.rps, 20);
    assert.equal(last.services.svc999!.blue.rps, 20);
  });

  it("shows a sample to pages and subscribers only once every service's point is in it", async () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `svc${i}`);
    const { stats, runtime } = fakeRuntime(names);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    const seen: LiveSample[] = [];
    sampler.subscribe((item) => item.kind === "sample" && seen.push(item.sample));
    await sampler.tick();
    for (const s of stats.values()) s.green.record(200, 3, 0, 0);
    now += 1000;
    await sampler.tick();
    for (const s of stats.values()) s.green.record(200, 3, 0, 0);
    now += 1000;
    const pass = sampler.tick();
    // A page that opens while the pass is under way.
    const midway = await new Promise<LiveSample[]>((resolve) =>
      setImmediate(() => resolve([...sampler.history().samples])),
    );
    assert.equal(seen.length, 1, "the sample under way is not sent yet");
    await pass;
    assert.equal(midway.length, 1, "the page got the complete samples only");
    assert.ok(names.every((n) => midway[0]!.services[n]!.green.rps === 1));
    assert.equal(seen.length, 2);
    assert.ok(names.every((n) => seen[1]!.services[n]!.green.rps === 1));
    assert.equal(sampler.history().samples.length, 2);
  });

  it("lets go of a service's history once its last traffic is older than the horizon", async () => {
    const { stats, runtime } = fakeRuntime(["web", "api"]);
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now, historyMs: 10_000 });
    await sampler.tick();
    stats.get("web")!.blue.record(200, 4, 0, 0);
    now += 1000;
    await sampler.tick();
    assert.equal(sampler.servicesWithHistory, 1);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      await sampler.tick();
    }
    assert.equal(sampler.history().samples[0]!.services.web!.blue.rps, 1, "still within the horizon");
    now += 1000;
    await sampler.tick();
    assert.equal(sampler.servicesWithHistory, 0);
    assert.ok(sampler.history().samples.every((s) => s.services.web!.blue.rps === 0));
    // Traffic again: its points show from then on.
    for (let n = 0; n < 3; n++) stats.get("web")!.blue.record(200, 4, 0, 0);
    now += 1000;
    await sampler.tick();
    assert.equal(sampler.history().samples.at(-1)!.services.web!.blue.rps, 3);
  });

  it("lists in each sample the services there were at that second", async () => {
    const names = ["web"];
    const stats = new Map<string, ColorStats>();
    const runtime = async (): Promise<ServiceRuntimeStatus[]> =>
      names.map((service) => {
        if (!stats.has(service)) stats.set(service, new ColorStats());
        const s = stats.get(service)!;
        return {
          service,
          generation: 1,
          held: 0,
          drains: [],
          endpoints: [],
          stats: { blue: s.snapshot(0), green: new ColorStats().snapshot(0) },
        };
      });
    let now = 1_000_000;
    const sampler = new LiveSampler({ runtime, now: () => now });
    await sampler.tick();
    now += 1000;
    await sampler.tick();
    names.push("api");
    stats.set("api", new ColorStats());
    stats.get("api")!.record(200, 4, 0, 0);
    now += 1000;
    await sampler.tick();
    names.shift();
    now += 1000;
    await sampler.tick();
    const { samples } = sampler.history();
    assert.deepEqual(
      samples.map((s) => Object.keys(s.services)),
      [["web"], ["web", "api"], ["api"]],
    );
    assert.equal(samples[1]!.services.api!.blue.rps, 1, "a new service's first second counts its requests");
  });

  it("costs well under a millisecond per second with 20 services", async (t) => {
    const names = Array.from({ length: 20 }, (_, i) => `svc${i}`);
    const { stats, runtime } = fakeRuntime(names);
    let now = 0;
    const sampler = new LiveSampler({ runtime, now: () => now });
    for (let i = 0; i < 300; i++) {
      for (const s of stats.values()) for (const c of COLORS) s[c].record(200, (i % 50) + 1, 0, 0);
      now += 1000;
      await sampler.tick();
    }
    const { ticks, meanMs } = sampler.cost;
    t.diagnostic(`sampler: ${meanMs.toFixed(3)} ms CPU per tick for 20 services (${ticks} ticks)`);
    assert.ok(meanMs < 5, `${meanMs} ms per tick`);
  });

  it("reads once per interval while started, and never after stop()", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const { runtime } = fakeRuntime(["web"]);
    let reads = 0;
    const counted = () => {
      reads++;
      return runtime();
    };
    const sampler = new LiveSampler({ runtime: counted, intervalMs: 1000 });
    // One interval at a time: a read still under way makes the next tick skip, by design.
    const interval = async () => {
      t.mock.timers.tick(1000);
      await new Promise(setImmediate);
    };
    sampler.start();
    for (let i = 0; i < 3; i++) await interval();
    assert.equal(reads, 3);
    sampler.stop();
    for (let i = 0; i < 3; i++) await interval();
    assert.equal(reads, 3);
  });
});

describe("the dashboard's files", () => {
  it("answer 503 with how to build them when the bundle is missing", async () => {
    const app = dashboardRoutes("/nonexistent/teal-dashboard");
    const res = await app.request("/");
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build:dashboard/);
    assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
  });
});
