import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyCounts } from "../../src/domain/latency-histogram.ts";
import type { ServiceRuntimeStatus } from "../../src/traffic/status.ts";
import { MergedStatus } from "../../src/workers/merged-status.ts";

function view(service: string, ok: number): ServiceRuntimeStatus {
  const stats = (n: number) => ({
    byClass: [0, 0, n, 0, 0, 0],
    clientAborted: 0,
    inFlight: 0,
    bytesIn: 0,
    bytesOut: 0,
    latencyBuckets: emptyCounts(),
  });
  return {
    service,
    generation: 1,
    held: 0,
    drains: [],
    endpoints: [],
    stats: { blue: stats(ok), green: stats(0) },
  };
}

const okOf = (list: ServiceRuntimeStatus[], service: string) =>
  list.find((s) => s.service === service)?.stats.blue.byClass[2];

describe("the control process's merged status", () => {
  it("sums what each worker sent, keeps unchanged views, drops a worker's counts when it goes", () => {
    const merged = new MergedStatus<string>();
    merged.add("w1", { cursor: 1, changed: [view("a", 3), view("b", 1)], names: ["a", "b"] });
    merged.add("w2", { cursor: 1, changed: [view("a", 4), view("b", 2)], names: ["a", "b"] });
    const first = merged.list();
    assert.deepEqual(
      first.map((s) => [s.service, okOf(first, s.service)]),
      [
        ["a", 7],
        ["b", 3],
      ],
    );

    merged.add("w1", { cursor: 2, changed: [view("a", 5)] });
    const second = merged.list();
    assert.equal(okOf(second, "a"), 9);
    assert.equal(second[1], first[1], "b did not change: the same view");

    // A reply older than what is held (a read that overlapped a later one) changes nothing.
    merged.add("w1", { cursor: 2, changed: [view("a", 100)] });
    assert.equal(okOf(merged.list(), "a"), 9);

    merged.drop("w2");
    const third = merged.list();
    assert.deepEqual(
      third.map((s) => [s.service, okOf(third, s.service)]),
      [
        ["a", 5],
        ["b", 1],
      ],
    );

    merged.add("w1", { cursor: 3, changed: [], names: ["b"] });
    assert.deepEqual(
      merged.list().map((s) => s.service),
      ["b"],
      "a service the worker no longer has is gone",
    );
    assert.equal(merged.cursorOf("w1"), 3);
    assert.equal(merged.cursorOf("w2"), undefined, "a worker not heard from sends everything");
  });
});
