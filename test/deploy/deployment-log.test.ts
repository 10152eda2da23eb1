/** The deployment journal's feed: what followers (the CLI, the dashboard's markers) are told. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeploymentLog, type FeedItem } from "../../src/deploy/deployment-log.ts";
import { DeploymentRepository } from "../../src/deploy/deployment-repository.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { ManualClock } from "../support/manual-clock.ts";

describe("deployment log feed", () => {
  it("says a deployment ended once, not again for notes written after it finished", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const log = new DeploymentLog(new DeploymentRepository(store), new ManualClock(0));
    const d = await log.create(
      {
        service: "web",
        kind: "deploy",
        version: "v2",
        color: "green",
        from: { color: "blue", version: "v1", seq: 1 },
        command: null,
        env: {},
        actor: "test",
        phase: "starting",
        outcome: "running",
        reason: null,
        rollbackOf: null,
        rolledBackBy: null,
        rollbackCause: null,
        finishedAt: null,
      },
      "deploying web v2",
    );
    const items: FeedItem[] = [];
    const stop = log.followAll((item) => items.push(item));
    await log.append("web", d.seq, "phase", "switching");
    await log.append("web", d.seq, "phase", "succeeded", {
      change: (x) => ({ ...x, outcome: "succeeded", finishedAt: log.now() }),
    });
    await log.append("web", d.seq, "scale_down", "blue v1 stopped after the scale-down delay");
    stop();
    assert.deepEqual(
      items.map((i) => (i.kind === "end" ? "end" : i.event.type)),
      ["phase", "phase", "end", "scale_down"],
    );
    await store.close();
  });

  it("reads records written before rollbackCause: rolledBackBy means an operator's teal rollback", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const old = (seq: number, outcome: string, rolledBackBy: number | null) => ({
      service: "web",
      seq,
      kind: "deploy",
      version: `v${seq}`,
      color: "green",
      from: { color: "blue", version: "v0", seq: null },
      command: null,
      env: {},
      actor: "cli",
      phase: "finished",
      outcome,
      reason: null,
      rollbackOf: null,
      rolledBackBy,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:01.000Z",
      events: [],
    });
    await store.put("deployments/web/00000001", JSON.stringify(old(1, "rolled_back", 2)));
    await store.put("deployments/web/00000002", JSON.stringify(old(2, "rolled_back", null)));
    await store.put("deployments/web/00000003", JSON.stringify(old(3, "succeeded", null)));
    const list = await new DeploymentRepository(store).list("web");
    assert.deepEqual(
      list.map((t) => [t.value.seq, t.value.rollbackCause]),
      [
        [1, "operator"],
        [2, null],
        [3, null],
      ],
    );
    await store.close();
  });
});
