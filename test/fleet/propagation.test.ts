/**
 * What a switch on a fleet waits for, on the store port (the in-memory adapter): each node
 * publishes the revision it serves with one write (the heartbeat keeps its lease alive, not that
 * write), and the writing server waits for the other nodes, not for its own record to make the
 * round trip through etcd (its proxy already serves the revision). Timed across real processes
 * by the bench's fleet-propagation scenario.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RoutingRepository } from "../../src/control/routing-repository.ts";
import { INITIAL_ROUTING } from "../../src/domain/routing.ts";
import { FleetAcks } from "../../src/fleet/acknowledgements.ts";
import { type Fence, FencedStore } from "../../src/fleet/leader-fence.ts";
import { NodeKey } from "../../src/fleet/node-key.ts";
import { DelegatingStore } from "../../src/store/delegating-store.ts";
import { followPrefix } from "../../src/store/follow-prefix.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import type {
  KeyGuard,
  KeyValue,
  LeaseId,
  PutManyEntry,
  PutOptions,
  WriteManyResult,
  WriteResult,
} from "../../src/store/store.ts";
import { EventRecorder } from "../store/contract/harness.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** Counts the calls a node makes to etcd. */
class CountingStore extends DelegatingStore {
  readonly calls: string[] = [];

  override put(key: string, value: string, options?: PutOptions): Promise<WriteResult> {
    this.calls.push(`put ${key}`);
    return super.put(key, value, options);
  }

  override get(key: string): Promise<KeyValue | undefined> {
    this.calls.push(`get ${key}`);
    return super.get(key);
  }

  override putMany(
    entries: readonly PutManyEntry[],
    options?: { readonly requireKey?: KeyGuard },
  ): Promise<WriteManyResult> {
    this.calls.push(`putMany ${entries.map((e) => e.key).join(" ")}`);
    return super.putMany(entries, options);
  }

  override keepAlive(lease: LeaseId): Promise<void> {
    this.calls.push("keepAlive");
    return super.keepAlive(lease);
  }

  override grantLease(ttlMs: number): Promise<LeaseId> {
    this.calls.push("grantLease");
    return super.grantLease(ttlMs);
  }
}

/** A fence that always leads, on a guard key that does not exist (modRevision 0). */
const leading: Fence = { guard: () => ({ key: "leader", modRevision: 0 }), stepDown: () => {} };

const record = (revision: number) => JSON.stringify({ revision, time: "2026-12-07T00:00:00Z", version: "t" });

describe("a node's served revision", () => {
  it("is published with one write, no keep-alive round trip before it", async () => {
    const memory = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const store = new CountingStore(memory);
    const seen = new EventRecorder();
    await memory.watch("nodes/", seen.onEvent);
    const key = new NodeKey(store, "edge-1", { ttlMs: 60_000, version: "t" });
    await key.start(1);
    store.calls.length = 0;
    key.serve(5);
    await seen.waitFor(2);
    assert.equal(JSON.parse((await memory.get("nodes/edge-1"))!.value).revision, 5);
    assert.deepEqual(store.calls, ["put nodes/edge-1"]);
    await key.close();
    await memory.close();
  });

  it("is published while a heartbeat's keep-alive is still under way, not after its round trip", async (t) => {
    const memory = new MemoryStore({ leaseSweepIntervalMs: 0 });
    let keepAliveSent!: () => void;
    const sent = new Promise<void>((resolve) => {
      keepAliveSent = resolve;
    });
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    // etcd answers this node's keep-alive only when the test says so.
    const store = new (class extends DelegatingStore {
      override async keepAlive(lease: LeaseId): Promise<void> {
        keepAliveSent();
        await answered;
        return super.keepAlive(lease);
      }
    })(memory);
    const seen = new EventRecorder();
    await memory.watch("nodes/", seen.onEvent);
    // The shortest heartbeat (200 ms); the test waits for its keep-alive, not for the time.
    const key = new NodeKey(store, "edge-1", { ttlMs: 600, version: "t" });
    t.after(async () => {
      answer();
      await key.close();
      await memory.close();
    });
    await key.start(1);
    await sent;
    key.serve(5);
    await seen.waitFor(2, 2_000);
    assert.equal(JSON.parse((await memory.get("nodes/edge-1"))!.value).revision, 5);
  });

  it("is published on a new lease when the old one ran out unseen", async () => {
    const memory = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const seen = new EventRecorder();
    await memory.watch("nodes/", seen.onEvent);
    const key = new NodeKey(memory, "edge-1", { ttlMs: 60_000, version: "t" });
    await key.start(1);
    const first = (await memory.get("nodes/edge-1"))!.lease!;
    await memory.revokeLease(first); // as if it had expired while the node was frozen
    key.serve(6);
    await seen.waitFor(3); // put, delete, put
    const now = (await memory.get("nodes/edge-1"))!;
    assert.equal(JSON.parse(now.value).revision, 6);
    assert.ok(now.lease !== undefined && now.lease !== first, "on a new lease");
    assert.equal(key.connected, true);
    await key.close();
    await memory.close();
  });
});

describe("the leader's routing write", () => {
  it("is one transaction, with no read before it: routing and active key together, or the routing alone", async () => {
    const memory = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const store = new CountingStore(memory);
    const routing = new RoutingRepository(new FencedStore(store, () => leading));
    const green = { ...INITIAL_ROUTING, live: "green" as const, greenPercent: 100 };
    let revision = await routing.save("web", INITIAL_ROUTING, 0);
    store.calls.length = 0;
    revision = await routing.save("web", green, revision); // a switch
    revision = await routing.save("web", { ...green, greenPercent: 90 }, revision); // a split step
    await routing.save("web", INITIAL_ROUTING, revision); // a rollback
    assert.deepEqual(store.calls, [
      "putMany routing/web services/web/active",
      "put routing/web",
      "putMany routing/web services/web/active",
    ]);
    await memory.close();
  });
});

describe("waiting for the fleet", () => {
  it("does not wait for the writer's own record, which its proxy already serves", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const acks = new FleetAcks(clock);
    const watch = await followPrefix(store, "nodes/", acks);
    await store.put("nodes/srv", record(1));
    await store.put("nodes/edge-1", record(5));
    const here = acks.waitFor(5, 1_000, "srv");
    await clock.advance(1_000); // had it waited for srv, the deadline would name it
    assert.deepEqual(await here, []);
    // Any other node still counts: edge-1 lags a later revision until it publishes it.
    const later = acks.waitFor(7, 1_000, "srv");
    await store.put("nodes/edge-1", record(7));
    assert.deepEqual(await later, []);
    // Without servedHere every node is waited for, the writer's own too.
    const all = acks.waitFor(7, 1_000);
    await clock.advance(1_000);
    assert.deepEqual(await all, [{ node: "srv", revision: 1 }]);
    acks.close();
    await watch.cancel();
    await store.close();
  });
});
