import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DrainWaiters } from "../../src/control/drain-wait.ts";
import type { DrainReport, DrainState, ServiceRuntimeStatus } from "../../src/traffic/status.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** A data plane's status reduced to what the waiters read: one drain of web's blue. */
function statusOf(state: () => DrainState, reads: { n: number }) {
  return async (): Promise<ServiceRuntimeStatus[]> => {
    reads.n++;
    const drain: DrainReport = {
      color: "blue",
      state: state(),
      startedAtMs: 0,
      deadlineAtMs: 30_000,
      finishedAtMs: undefined,
      remaining: state() === "draining" ? 1 : 0,
      forced: 0,
    };
    return [{ service: "web", generation: 2, held: 0, drains: [drain], endpoints: [], stats: {} as never }];
  };
}

const ended = (color: "blue" | "green" = "blue"): DrainReport => ({
  color,
  state: "drained",
  startedAtMs: 0,
  deadlineAtMs: 30_000,
  finishedAtMs: 1,
  remaining: 0,
  forced: 0,
});

describe("DrainWaiters", () => {
  it("reads the status once per relevant event, resolves when it says the drain ended, and leaves nothing behind", async () => {
    let state: DrainState = "draining";
    const reads = { n: 0 };
    const clock = new ManualClock();
    const waiters = new DrainWaiters(
      clock,
      statusOf(() => state, reads),
    );
    let result: DrainReport | undefined | "pending" = "pending";
    const waiting = waiters.wait("web", "blue", 10_000).then((r) => {
      result = r;
    });
    await clock.advance(0);
    assert.equal(reads.n, 1);

    // Another service's or color's event wakes nobody.
    waiters.notify("api", ended());
    waiters.notify("web", ended("green"));
    await clock.advance(0);
    assert.equal(reads.n, 1);

    // One worker's share ended, another's not yet: the merged status still says draining.
    waiters.notify("web", ended());
    await clock.advance(0);
    assert.equal(reads.n, 2);
    assert.equal(result, "pending");

    state = "drained";
    waiters.notify("web", ended());
    await waiting;
    assert.equal((result as unknown as DrainReport).state, "drained");
    assert.equal(waiters.size, 0);
    assert.equal(clock.pendingCount, 0);
  });

  it("rejects when the status cannot be read, and leaves nothing behind", async () => {
    const clock = new ManualClock();
    const waiters = new DrainWaiters(clock, async () => {
      throw new Error("worker did not answer");
    });
    await assert.rejects(waiters.wait("web", "blue", 10_000), /worker did not answer/);
    assert.equal(waiters.size, 0);
    assert.equal(clock.pendingCount, 0);
  });
});
