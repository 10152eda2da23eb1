/**
 * The fence on a leader's writes, in one process and on the clock: two candidates on one store,
 * the leader "paused" (the events of its watch are held back, as the bytes of a stopped process
 * wait in its socket) while its lease runs out and the other node wins and writes. When the
 * paused leader then writes, with a compare-and-swap base as fresh as the new leader's (as after
 * following its writes), the write is refused with NOT_LEADER, the record stays what the new
 * leader wrote, and the old leader steps down saying why. The same across processes, with
 * SIGSTOP on a real etcd: fencing.test.ts.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RoutingRepository } from "../../src/control/routing-repository.ts";
import { DeploymentRepository } from "../../src/deploy/deployment-repository.ts";
import { ServiceUnits } from "../../src/deploy/service-units.ts";
import { isTealError, TealError } from "../../src/domain/errors.ts";
import { INITIAL_ROUTING } from "../../src/domain/routing.ts";
import { taskKey } from "../../src/fleet/agent-records.ts";
import { type Election, LeaderElection } from "../../src/fleet/leader-election.ts";
import { FencedStore } from "../../src/fleet/leader-fence.ts";
import { TaskWriter } from "../../src/fleet/task-writer.ts";
import type { Logger } from "../../src/log/logger.ts";
import { DelegatingStore } from "../../src/store/delegating-store.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import type { Store, WatchEvent, WatchOptions } from "../../src/store/store.ts";
import { ManualClock } from "../support/manual-clock.ts";

/** A Store whose watches deliver nothing while paused, and everything held once resumed. */
class PausableWatches {
  paused = false;
  readonly #held: Array<() => void> = [];

  wrap(store: Store): Store {
    const held = this.#held;
    const paused = () => this.paused;
    return new (class extends DelegatingStore {
      override watch(prefix: string, onEvent: (event: WatchEvent) => void, options?: WatchOptions) {
        const deliver = (event: WatchEvent): void => {
          if (paused()) held.push(() => onEvent(event));
          else onEvent(event);
        };
        return this.inner.watch(prefix, deliver, options);
      }
    })(store);
  }

  resume(): void {
    this.paused = false;
    for (const deliver of this.#held.splice(0)) deliver();
  }
}

const TTL_MS = 60_000; // the keep-alive timers (TTL/3) never fire during the test: time is the clock's

function candidate(store: Store, node: string, deposed: string[]) {
  let elected!: (e: Election) => void;
  const won = new Promise<Election>((resolve) => {
    elected = resolve;
  });
  const election = new LeaderElection(store, {
    node,
    admin: `http://${node}.invalid`,
    ttlMs: TTL_MS,
    onElected: async (e) => elected(e),
    onDeposed: (reason) => deposed.push(reason),
    onWarning: () => {},
  });
  return { election, won };
}

describe("the leader's fence", () => {
  it("refuses a routing or deployment write of a leader deposed while paused; the new leader's record stands", async (t) => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    const pause = new PausableWatches();
    const deposedA: string[] = [];
    const a = candidate(pause.wrap(store), "a", deposedA);
    const b = candidate(store, "b", []);
    t.after(async () => {
      await a.election.close();
      await b.election.close();
      await store.close();
    });
    await a.election.start();
    await a.won;
    await b.election.start();
    assert.equal(b.election.leadership().leader?.node, "a");
    const routingA = new RoutingRepository(new FencedStore(store, () => a.election));
    const routingB = new RoutingRepository(new FencedStore(store, () => b.election));
    const green = { ...INITIAL_ROUTING, live: "green" as const, greenPercent: 100 };
    const first = await routingA.save("web", green, 0);

    // a sleeps past its TTL; its lease expires and b takes over and switches back to blue.
    pause.paused = true;
    clock.advance(TTL_MS);
    await store.expireLeases();
    const election = await b.won;
    assert.equal(election.reason, "node b took over from node a: a's lease expired");
    const blue = await routingB.save("web", INITIAL_ROUTING, first);

    // a wakes up still believing it leads; its next write builds on b's revision (fresh CAS base).
    assert.equal(a.election.leadership().state, "leader");
    await assert.rejects(routingA.save("web", green, blue), (err) => isTealError(err, "NOT_LEADER"));
    assert.deepEqual((await routingB.load("web")).state, INITIAL_ROUTING);
    assert.equal(a.election.leadership().state, "follower");
    assert.match(deposedA.join("\n"), /its write of routing\/web was refused/);
    // Its deployment records are fenced the same way, and nothing of its own gets through either.
    const deploymentsA = new DeploymentRepository(new FencedStore(store, () => a.election));
    const draft = { service: "web", version: "v9" } as unknown as Parameters<
      DeploymentRepository["create"]
    >[0];
    await assert.rejects(deploymentsA.create(draft), (err) => isTealError(err, "NOT_LEADER"));
    assert.equal((await store.list("deployments/")).items.length, 0);

    pause.resume();
    assert.equal(a.election.leadership().leader?.node, "b");
    assert.equal(b.election.leadership().state, "leader");
  });

  it("refuses a task delete of a leader deposed while paused: the task stays, and the leader steps down", async (t) => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    const pause = new PausableWatches();
    const deposedA: string[] = [];
    const a = candidate(pause.wrap(store), "a", deposedA);
    const b = candidate(store, "b", []);
    t.after(async () => {
      await a.election.close();
      await b.election.close();
      await store.close();
    });
    await a.election.start();
    await a.won;
    await b.election.start();
    // A task for node a, as an earlier leader left it (a runs an agent).
    const task = taskKey("a", "web", "blue");
    await store.put(task, JSON.stringify({ action: "run", deployment: 1, version: "v1" }));

    pause.paused = true;
    clock.advance(TTL_MS);
    await store.expireLeases();
    await b.won;

    // a wakes up still believing it leads and settles its leadership: its own node's tasks go,
    // through the same fenced store its puts use.
    assert.equal(a.election.leadership().state, "leader");
    const warnings: unknown[] = [];
    const writer = new TaskWriter({
      store: new FencedStore(store, () => a.election),
      units: new ServiceUnits(),
      self: "a",
      agents: () => ["a", "b"],
      leads: () => a.election.leadership().state === "leader",
      log: { warn: (obj: unknown) => warnings.push(obj) } as unknown as Logger,
    });
    await writer.elected();
    assert.equal(warnings.length, 1);
    assert.ok(isTealError((warnings[0] as { err: unknown }).err, "NOT_LEADER"));
    assert.notEqual(await store.get(task), undefined);
    assert.equal(a.election.leadership().state, "follower");
    assert.match(deposedA.join("\n"), /its write of tasks\/a\/web\/blue was refused/);
    pause.resume();
  });

  it("a leader whose watch the store ended while it was cut off reloads the leader key and steps down if it changed hands", async (t) => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock, leaseSweepIntervalMs: 0 });
    // a's watches: events dropped while cut off, then ended by the store (as etcd does when it
    // compacted the history they would resume from).
    let cutOff = false;
    const lost: Array<() => void> = [];
    let watched = (): void => {};
    const aStore = new (class extends DelegatingStore {
      override async watch(prefix: string, onEvent: (event: WatchEvent) => void, options?: WatchOptions) {
        const watch = await this.inner.watch(prefix, (e) => cutOff || onEvent(e), options);
        watched();
        lost.push(() => {
          void watch.cancel();
          options?.onLost?.(new TealError("STORE_COMPACTED", "compacted while cut off"));
        });
        return watch;
      }
    })(store);
    const deposed: string[] = [];
    let elected = (): void => {};
    const won = new Promise<void>((resolve) => {
      elected = resolve;
    });
    const a = new LeaderElection(aStore, {
      node: "a",
      admin: "http://a.invalid",
      ttlMs: TTL_MS,
      onElected: async () => elected(),
      onDeposed: (reason) => deposed.push(reason),
      onWarning: () => {},
    });
    const b = candidate(store, "b", []);
    t.after(async () => {
      await a.close();
      await b.election.close();
      await store.close();
    });
    await a.start();
    await won;
    await b.election.start();

    cutOff = true;
    clock.advance(TTL_MS);
    await store.expireLeases();
    await b.won;
    assert.equal(a.leadership().state, "leader", "a has not seen b take over");
    // The reload comes before the new watch: once a watches again, it has read the key.
    const rewatched = new Promise<void>((resolve) => {
      watched = resolve;
    });
    cutOff = false;
    for (const lose of lost.splice(0)) lose();
    await rewatched;
    assert.deepEqual(deposed, ["node b leads now"]);
    assert.equal(a.leadership().state, "follower");
    assert.equal(a.leadership().leader?.node, "b");
  });

  it("refuses fenced writes of a server that does not lead, and passes every other key through", async () => {
    const store = new MemoryStore({ leaseSweepIntervalMs: 0 });
    const fenced = new FencedStore(store, () => undefined);
    await assert.rejects(fenced.put("routing/web", "{}"), (err) => isTealError(err, "NOT_LEADER"));
    await assert.rejects(fenced.put("deployments/web/00000001", "{}"), (err) =>
      isTealError(err, "NOT_LEADER"),
    );
    await store.put("tasks/b/web/blue", "{}");
    await assert.rejects(fenced.delete("tasks/b/web/blue"), (err) => isTealError(err, "NOT_LEADER"));
    assert.equal((await store.get("tasks/b/web/blue"))?.value, "{}");
    assert.equal((await fenced.put("services/web/active", "{}")).ok, true);
    assert.equal((await fenced.put("nodes/a", "{}")).ok, true);
    await store.close();
  });
});
