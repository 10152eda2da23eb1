import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Deployment, movePhase, PHASE_MOVES, PHASES } from "../../src/domain/deployment.ts";
import { isTealError } from "../../src/domain/errors.ts";

const record = (phase: Deployment["phase"]): Deployment => ({
  service: "web",
  seq: 7,
  kind: "deploy",
  version: "v2",
  color: "green",
  from: { color: "blue", version: "v1", seq: 6 },
  command: null,
  env: {},
  actor: "cli",
  phase,
  outcome: "running",
  reason: null,
  rollbackOf: null,
  rolledBackBy: null,
  rollbackCause: null,
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: null,
  events: [],
});

describe("deployment phases", () => {
  it("walks a canary from starting to finished through every phase", () => {
    let d = record("starting");
    for (const next of PHASES.slice(1)) d = movePhase(d, next);
    assert.equal(d.phase, "finished");
  });

  it("may finish from any phase but the last, and skip the optional ones", () => {
    for (const phase of PHASES.slice(0, -1))
      assert.equal(movePhase(record(phase), "finished").phase, "finished");
    assert.equal(movePhase(record("health"), "rollout").phase, "rollout", "no smoke checks");
  });

  it("refuses to move back, to repeat a phase, or to leave finished, naming the move", () => {
    assert.throws(
      () => movePhase(record("draining"), "health"),
      (err) =>
        isTealError(err, "CONFLICT") &&
        /deployment #7 of web cannot move from phase draining to health/.test(err.message),
    );
    assert.throws(
      () => movePhase(record("smoke"), "smoke"),
      (err) => isTealError(err, "CONFLICT"),
    );
    assert.throws(
      () => movePhase(record("finished"), "finished"),
      (err) => isTealError(err, "CONFLICT"),
    );
    assert.deepEqual(PHASE_MOVES.finished, []);
  });
});
