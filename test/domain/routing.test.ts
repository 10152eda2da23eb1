/** The routing transitions, called directly: what each operator command does to a service's routing. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyRoutingCommand,
  INITIAL_ROUTING,
  isRoutingState,
  type RoutingState,
  weightOf,
} from "../../src/domain/routing.ts";

const canary: RoutingState = { live: "blue", greenPercent: 20, paused: false, maintenance: false };

describe("routing transitions", () => {
  it("switches all traffic to a color and makes it the live one, whatever the split was", () => {
    assert.deepEqual(applyRoutingCommand(canary, { kind: "switch", to: "green" }), {
      ...canary,
      live: "green",
      greenPercent: 100,
    });
    const onGreen: RoutingState = { ...canary, live: "green", greenPercent: 70 };
    assert.deepEqual(applyRoutingCommand(onGreen, { kind: "switch", to: "blue" }), {
      ...onGreen,
      live: "blue",
      greenPercent: 0,
    });
  });

  it("sets the green share of a split without changing which color is live", () => {
    const split = applyRoutingCommand(INITIAL_ROUTING, { kind: "split", greenPercent: 35 });
    assert.deepEqual(split, { ...INITIAL_ROUTING, greenPercent: 35 });
    assert.deepEqual([weightOf(split, "green"), weightOf(split, "blue")], [35, 65]);
  });

  it("pauses and resumes without touching the split or maintenance", () => {
    const paused = applyRoutingCommand(canary, { kind: "pause" });
    assert.deepEqual(paused, { ...canary, paused: true });
    assert.deepEqual(applyRoutingCommand(paused, { kind: "pause" }), paused, "pausing twice is one pause");
    assert.deepEqual(applyRoutingCommand(paused, { kind: "resume" }), canary);
  });

  it("turns maintenance on and off, keeping the pause and the split", () => {
    const paused = { ...canary, paused: true };
    const down = applyRoutingCommand(paused, { kind: "maintenance", enabled: true });
    assert.deepEqual(down, { ...paused, maintenance: true });
    assert.deepEqual(applyRoutingCommand(down, { kind: "maintenance", enabled: false }), paused);
  });

  it("never changes the state it was given", () => {
    const before = structuredClone(canary);
    applyRoutingCommand(canary, { kind: "switch", to: "green" });
    applyRoutingCommand(canary, { kind: "pause" });
    assert.deepEqual(canary, before);
  });

  it("recognises a stored routing state and refuses anything else", () => {
    assert.equal(isRoutingState(INITIAL_ROUTING), true);
    assert.equal(isRoutingState(applyRoutingCommand(canary, { kind: "switch", to: "green" })), true);
    for (const bad of [
      null,
      "blue",
      { ...canary, live: "red" },
      { ...canary, greenPercent: 101 },
      { ...canary, greenPercent: 2.5 },
      { ...canary, paused: "no" },
      { live: "blue", greenPercent: 0, paused: false },
    ]) {
      assert.equal(isRoutingState(bad), false, JSON.stringify(bad));
    }
  });
});
