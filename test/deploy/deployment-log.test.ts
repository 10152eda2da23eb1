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
});
