import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProxySource } from "../../src/analysis/proxy-source.ts";
import { checkSchema } from "../../src/config/schema.ts";
import type { Color } from "../../src/domain/color.ts";
import { ColorStats } from "../../src/traffic/color-stats.ts";
import type { ServiceRuntimeStatus } from "../../src/traffic/status.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** The proxy's per-color counters behind teal's own status port, fed by the test. */
class FakeProxy {
  readonly stats: Record<Color, ColorStats> = { blue: new ColorStats(), green: new ColorStats() };
  serve(color: Color, requests: number, latencyMs: number, status = 200): void {
    for (let i = 0; i < requests; i++) this.stats[color].record(status, latencyMs, 0, 0);
  }
  status = async (): Promise<ServiceRuntimeStatus[]> => [
    {
      service: "web",
      generation: 1,
      held: 0,
      drains: [],
      endpoints: [],
      stats: { blue: this.stats.blue.snapshot(0), green: this.stats.green.snapshot(0) },
    },
  ];
}

const context = { service: "web", color: "green", stableColor: "blue", version: "v2" } as const;
const p99 = checkSchema.parse({ name: "latency", metric: "p99", maxRatioToStable: 2, minRequests: 20 });

describe("teal's own metrics in one-second slices", () => {
  it("compares the colors only over the seconds both served, and not after full promotion", async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy();
    const source = new ProxySource(proxy.status, clock);
    /** One second of traffic, then the clock moves on (the source samples at each second). */
    const second = async (blue: number, green: number, greenMs = 2) => {
      proxy.serve("blue", blue, 2);
      proxy.serve("green", green, greenMs);
      await clock.advance(1000);
    };
    await source.watch("web", { color: "green", windowMs: 10_000, warmupMs: 0 });
    await second(100, 0);
    await second(100, 0);
    await second(90, 10, 20); // the canary starts mid-second, cold: not a like-for-like second
    await second(50, 50);
    await second(50, 50);
    let m = await source.measure(p99, { ...context, windowMs: 10_000 });
    assert.equal(m.shared?.slices, 2, "the two whole seconds both colors served");
    assert.equal(m.shared?.stable.requests, 100);
    assert.equal(m.shared?.candidate.requests, 100);
    assert.ok(m.shared!.candidate.value! < 2.5, "the cold second is left out");
    assert.equal(m.sampleSize, 110, "the absolute value still covers the whole window");

    source.promoted("web");
    await second(0, 100, 6); // full load on the new color: slower, and nothing to set it against
    await second(0, 100, 6);
    m = await source.measure(p99, { ...context, windowMs: 10_000 });
    assert.equal(m.shared?.slices, 0, "after full promotion nothing is compared");
    assert.equal(m.shared?.promoted, true);
    assert.ok(m.value! > 5, "while the window's value shows the new load, for absolute limits");
    source.forget("web");
    assert.equal(clock.pendingCount, 0, "no sampling after forget");
  });

  it("needs enough requests from both colors in a second", async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy();
    const source = new ProxySource(proxy.status, clock);
    await source.watch("web", { color: "green", windowMs: 10_000, warmupMs: 0 });
    for (const green of [3, 3, 4, 6, 2, 8]) {
      proxy.serve("blue", 50, 2);
      proxy.serve("green", green, 2);
      await clock.advance(1000);
    }
    const m = await source.measure(p99, { ...context, windowMs: 10_000 });
    assert.equal(m.shared?.slices, 2, "only the seconds where green had >= 5 (minSliceRequests) count");
    source.forget("web");
  });

  it("leaves the new color's warmup out of relative checks, counted from its first request", async () => {
    const clock = new ManualClock();
    const proxy = new FakeProxy();
    const source = new ProxySource(proxy.status, clock);
    await source.watch("web", { color: "green", windowMs: 10_000, warmupMs: 3_000 });
    await clock.advance(1000); // no traffic on green yet: the warmup has not started
    for (let i = 0; i < 3; i++) {
      proxy.serve("blue", 50, 2);
      proxy.serve("green", 50, 8); // warming up: slow
      await clock.advance(1000);
    }
    let m = await source.measure(p99, { ...context, windowMs: 10_000 });
    assert.equal(m.shared?.slices, 0);
    assert.equal(m.shared?.warmingUp, true);
    for (let i = 0; i < 2; i++) {
      proxy.serve("blue", 50, 2);
      proxy.serve("green", 50, 2);
      await clock.advance(1000);
    }
    m = await source.measure(p99, { ...context, windowMs: 10_000 });
    assert.equal(m.shared?.slices, 2, "the two seconds after the warmup");
    assert.ok(m.shared!.candidate.value! < 2.5);
    source.forget("web");
  });
});
