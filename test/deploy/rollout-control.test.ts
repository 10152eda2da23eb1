import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RollbackRequest, RolloutControl } from "../../src/deploy/rollout-control.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** Settles to its outcome, or "pending" if it has not settled after the clock's turn. */
const state = async <T>(p: Promise<T>) =>
  Promise.race([
    p.then(
      (v) => v,
      (e: Error) => `rejected: ${e.message}`,
    ),
    new Promise((r) => setImmediate(() => r("pending"))),
  ]);

describe("the operator's hand on a rollout, on the injected clock", () => {
  it("a timed pause ends when its time is up, not before", async () => {
    const clock = new ManualClock();
    const control = new RolloutControl();
    const wait = control.wait(clock, 5 * 60_000);
    await clock.advance(5 * 60_000 - 1);
    assert.equal(await state(wait), "pending");
    await clock.advance(1);
    assert.equal(await state(wait), "elapsed");
    assert.equal(clock.pendingCount, 0);
  });

  it("an untimed pause waits for promote; a pause by the operator holds even an elapsed step", async () => {
    const clock = new ManualClock();
    const control = new RolloutControl();
    const manual = control.wait(clock, undefined);
    await clock.advance(60 * 60_000);
    assert.equal(await state(manual), "pending");
    control.promote(false);
    assert.equal(await state(manual), "promoted");

    const timed = control.wait(clock, 1000);
    control.pause();
    await clock.advance(5000);
    assert.equal(await state(timed), "pending", "paused: the step does not end");
    control.resume();
    assert.equal(await state(timed), "elapsed");
  });

  it("abort rejects the wait at once; promote --full ends every later wait", async () => {
    const clock = new ManualClock();
    const aborted = new RolloutControl();
    const wait = aborted.wait(clock, 60_000);
    aborted.abort(new RollbackRequest("aborted by cli", "abort", "cli"));
    assert.equal(await state(wait), "rejected: aborted by cli");
    assert.throws(() => aborted.check(), /aborted by cli/);

    const full = new RolloutControl();
    full.promote(true);
    assert.equal(await state(full.wait(clock, 60_000)), "promoted");
    assert.equal(await state(full.wait(clock, undefined)), "promoted");
    assert.equal(clock.pendingCount, 0, "no timer left behind");
  });
});
