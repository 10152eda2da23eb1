/**
 * Runs the store contract against a real 3-member etcd cluster on loopback (one cluster for the
 * file, a fresh key prefix per case), then what only a cluster can do: members dying under writes
 * and watches, and a cluster that cannot be reached.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Etcd3 } from "etcd3";
import { isTealError } from "../../src/domain/errors.ts";
import { EtcdStore } from "../../src/store/etcd/etcd-store.ts";
import { followPrefix } from "../../src/store/follow-prefix.ts";
import type { LeaseId, Store, WatchEvent } from "../../src/store/store.ts";
import { type EtcdCluster, type EtcdMember, startEtcd } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/routers.ts";
import { startTcpRelay } from "../support/tcp-relay.ts";
import { EventRecorder, rejectsWith } from "./contract/harness.ts";
import { runStoreContract } from "./contract.ts";
import { RevisionOffsetStore } from "./revision-offset.ts";

let cluster: EtcdCluster;
/** The test's own client, for what the Store port does not do: compaction, cleanup. */
let admin: Etcd3;
let prefixes = 0;
const freshPrefix = (): string => `/test-${process.pid}/${++prefixes}`;

before(async () => {
  cluster = await startEtcd({ members: 3 });
  admin = new Etcd3({ hosts: [...cluster.endpoints] });
});

after(async () => {
  admin?.close();
  await cluster?.stop();
});

runStoreContract(
  "etcd",
  async (_clock, { historyLimit }) => {
    const prefix = freshPrefix();
    const open = () => EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    const leases = new Set<LeaseId>();
    const first = await open();
    const base = await first.revision();
    const compact = async (revision: number): Promise<void> => {
      await admin.kv.compact({ revision, physical: true });
    };
    const wrap = (store: Store) => new RevisionOffsetStore(store, base, historyLimit, compact, leases);
    let current = wrap(first);
    return {
      store: current,
      realTimeLeases: true,
      reopen: async () => {
        await current.close();
        current = wrap(await open());
        return current;
      },
      cleanup: async () => {
        // A lease left to expire would delete keys, and bump the revision, in a later case.
        for (const lease of leases) await admin.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
        await current.close();
      },
    };
  },
  { persistent: true },
);

/** One write, tried again while the cluster answers STORE_UNAVAILABLE (a member dying, an election). */
async function putThroughOutage(store: Store, key: string, value: string): Promise<number> {
  return eventually(
    () =>
      store.put(key, value).then(
        (result) => result.revision,
        (err: unknown) => {
          if (isTealError(err, "STORE_UNAVAILABLE")) return undefined;
          throw err;
        },
      ),
    `the write of ${key}`,
    20_000,
  );
}

describe("etcd store on a cluster that loses members", () => {
  it("keeps every acknowledged write when the leader, then a follower, is killed during writes", async () => {
    const prefix = freshPrefix();
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    const acked = new Map<string, number>();
    const write = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) acked.set(`w/${i}`, await putThroughOutage(store, `w/${i}`, `v${i}`));
    };
    try {
      await write(0, 50);
      const leader = await cluster.leader();
      const leaderKilled = cluster.kill(leader);
      await write(50, 150);
      await leaderKilled;
      await cluster.restart(leader);
      const follower = cluster.members.find((m) => m.name !== leader.name) as EtcdMember;
      const followerKilled = cluster.kill(follower);
      await write(150, 250);
      await followerKilled;
      await cluster.restart(follower);
      await write(250, 260);

      // Read back from the member that was the leader when it died.
      const check = await EtcdStore.open({ endpoints: [leader.clientUrl], prefix });
      try {
        for (const [key, revision] of acked) {
          const kv = await check.get(key);
          assert.deepEqual([kv?.value, kv?.modRevision], [`v${key.slice(2)}`, revision], key);
        }
        assert.equal((await check.list("w/")).items.length, 260);
      } finally {
        await check.close();
      }
    } finally {
      await store.close();
    }
  });

  it("keeps a watch going through the leader's death, without a gap or a duplicate", async () => {
    const prefix = freshPrefix();
    const leader = await cluster.leader();
    const others = cluster.members.filter((m) => m.name !== leader.name).map((m) => m.clientUrl);
    const writer = await EtcdStore.open({ endpoints: others, prefix });
    // One watch can move to another member; one knows only the leader and waits for it to return.
    const anywhere = await EtcdStore.open({ endpoints: [leader.clientUrl, ...others], prefix });
    const leaderOnly = await EtcdStore.open({ endpoints: [leader.clientUrl], prefix });
    try {
      const movedOver = new EventRecorder();
      const waited = new EventRecorder();
      await anywhere.watch("w/", movedOver.onEvent);
      await leaderOnly.watch("w/", waited.onEvent);
      const start = await writer.revision();
      for (let i = 0; i < 30; i++) await putThroughOutage(writer, `w/${i}`, `v${i}`);
      await cluster.kill(leader);
      for (let i = 30; i < 100; i++) await putThroughOutage(writer, `w/${i}`, `v${i % 7}`);
      for (let i = 0; i < 20; i++) await putThroughOutage(writer, `w/${i}`, "again");

      const truth = await history(writer, "w/", start);
      assert.equal(truth.length, 120);
      assert.deepEqual(await movedOver.waitFor(120), truth);
      await cluster.restart(leader);
      // The client waits out its circuit breaker (5 s) before it dials a member it saw fail.
      assert.deepEqual(await waited.waitFor(120, 15_000), truth);
      await putThroughOutage(writer, "w/last", "1");
      const last = await movedOver.waitFor(121);
      assert.equal(last.length, 121);
      assert.equal((await waited.waitFor(121)).length, 121);
    } finally {
      await Promise.all([writer.close(), anywhere.close(), leaderOnly.close()]);
    }
  });
});

/** Every put under the prefix after a revision, as watch lines in revision order (from etcd). */
async function history(store: Store, prefix: string, afterRevision: number): Promise<string[]> {
  const lines: string[] = [];
  const recorder = new EventRecorder();
  const watch = await store.watch(prefix, recorder.onEvent, { afterRevision });
  const { items } = await store.list(prefix);
  const total = items.reduce((sum, kv) => sum + kv.version, 0);
  lines.push(...(await recorder.waitFor(total)));
  await watch.cancel();
  return lines;
}

describe("etcd store history and reachability", () => {
  it("fails a watch from compacted history with STORE_COMPACTED; followPrefix reloads and goes on from the read", async () => {
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix: freshPrefix() });
    try {
      const seenUpTo = (await store.put("svc/a", "1")).revision;
      await store.put("svc/a", "2");
      const last = await store.put("svc/b", "1");
      await admin.kv.compact({ revision: last.revision, physical: true });
      await rejectsWith(
        store.watch("svc/", () => {}, { afterRevision: seenUpTo }),
        "STORE_COMPACTED",
      );

      const reloads: string[][] = [];
      const seen = new EventRecorder();
      await followPrefix(
        store,
        "svc/",
        {
          reload: (items, revision) =>
            reloads.push([...items.map((kv) => `${kv.key}=${kv.value}`), `@${revision}`]),
          onEvent: seen.onEvent,
        },
        seenUpTo,
      );
      assert.deepEqual(reloads, [["svc/a=2", "svc/b=1", `@${last.revision}`]]);
      const next = await store.put("svc/c", "1");
      assert.deepEqual(await seen.waitFor(1), [`put svc/c=1 @${next.revision}`]);
    } finally {
      await store.close();
    }
  });

  it("ends a watch whose history etcd compacted while it was cut off with onLost; followPrefix reloads it and goes on", async () => {
    const member = new URL(cluster.endpoints[0] as string);
    const relay = await startTcpRelay({ host: member.hostname, port: Number(member.port) });
    const prefix = freshPrefix();
    const writer = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    const storeErrors: unknown[] = [];
    // This store reaches etcd only through the relay: cutting it cuts the store off.
    const cutOff = await EtcdStore.open({
      endpoints: [`http://${relay.address}`],
      prefix,
      onError: (err) => storeErrors.push(err),
    });
    try {
      await writer.put("svc/a", "1");
      const lost: Error[] = [];
      const raw = new EventRecorder();
      await cutOff.watch("svc/", raw.onEvent, { onLost: (err) => lost.push(err) });
      const seen: string[] = [];
      const reloadedAt: number[] = [];
      const follower = {
        reload: (items: readonly { key: string; value: string }[], revision: number) => {
          seen.push(`reload ${items.map((kv) => `${kv.key}=${kv.value}`).join(" ")}`);
          reloadedAt.push(revision);
        },
        onEvent: (event: WatchEvent) => {
          seen.push(event.type === "put" ? `put ${event.kv.key}=${event.kv.value}` : `delete ${event.key}`);
        },
      };
      const warnings: string[] = [];
      const followed = await followPrefix(cutOff, "svc/", follower, undefined, {
        onWarning: (message) => warnings.push(message),
      });
      const first = await writer.put("svc/a", "2");
      await raw.waitFor(1);
      await eventually(() => seen.length === 2, "the follower to see the first change");

      relay.cut();
      await writer.put("svc/a", "3");
      await writer.delete("svc/a");
      const last = await writer.put("svc/b", "1");
      await admin.kv.compact({ revision: last.revision, physical: true });
      relay.restore();

      // The follower gets the prefix as it is now, then the changes after it.
      await eventually(() => seen.length === 3, "the follower to reload", 15_000);
      assert.equal(lost.length, 1);
      assert.ok(isTealError(lost[0], "STORE_COMPACTED"), String(lost[0]));
      assert.deepEqual(storeErrors, [], "a watch with onLost reports its loss there only");
      assert.deepEqual(raw.lines(), [`put svc/a=2 @${first.revision}`]);
      await writer.put("svc/c", "1");
      await eventually(() => seen.length === 4, "the follower to see the change after the reload");
      assert.deepEqual(seen, ["reload svc/a=1", "put svc/a=2", "reload svc/b=1", "put svc/c=1"]);
      assert.ok((reloadedAt[1] as number) >= last.revision, `reloaded at ${reloadedAt[1]}`);
      assert.deepEqual(warnings, ["the store ended the watch on svc/: reloading it"]);
      await followed.cancel();
    } finally {
      await Promise.all([writer.close(), cutOff.close()]);
      await relay.close();
    }
  });

  it("starts a watch after every write already acknowledged, even on a member that has not applied them yet", async () => {
    // A member applies the leader's log a moment after a write is acknowledged; a watch that
    // started from that member's own revision replayed the write (a CI run saw it once, in the
    // lease contract case). Here a follower is frozen (SIGSTOP) through the write and the watch
    // is asked of it the moment it thaws. The window is narrow: this did not catch the old code
    // in the runs tried, it guards the promise rather than reproducing the race every time.
    const prefix = freshPrefix();
    const leader = await cluster.leader();
    const follower = cluster.members.find((member) => member !== leader) as EtcdMember;
    const [writer, watcher] = await Promise.all([
      EtcdStore.open({ endpoints: [leader.clientUrl], prefix }),
      EtcdStore.open({ endpoints: [follower.clientUrl], prefix }),
    ]);
    try {
      for (let round = 0; round < 3; round++) {
        follower.child?.kill("SIGSTOP");
        await writer.put(`svc/${round}`, "before");
        // The request waits in the frozen member's socket beside the leader's log entries.
        const seen = new EventRecorder();
        const watching = watcher.watch("svc/", seen.onEvent);
        follower.child?.kill("SIGCONT");
        const watch = await watching;
        const marker = await writer.put(`svc/${round}`, "after");
        assert.deepEqual(
          await seen.waitFor(1),
          [`put svc/${round}=after @${marker.revision}`],
          `round ${round}`,
        );
        await watch.cancel();
      }
    } finally {
      follower.child?.kill("SIGCONT");
      await Promise.all([writer.close(), watcher.close()]);
    }
  });

  it("keeps a lease alive with a member down: every keep-alive succeeds", async () => {
    // The client picks a member at random for each keep-alive, the dead one too: before each
    // keep-alive tried again on another pick, about a third of these failed, and a lease whose
    // keep-alives failed a few times in a row expired while etcd elected a new leader.
    const leader = await cluster.leader();
    const down = cluster.members.find((member) => member !== leader) as EtcdMember;
    const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix: freshPrefix() });
    try {
      const lease = await store.grantLease(5_000);
      await cluster.kill(down);
      const failures: string[] = [];
      for (let i = 0; i < 30; i++) {
        await store.keepAlive(lease).catch((err: Error) => failures.push(err.message));
      }
      assert.deepEqual(failures, []);
    } finally {
      await store.close();
      await cluster.restart(down);
    }
  });

  it("fails with STORE_UNAVAILABLE naming the endpoints when no member answers", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(EtcdStore.open({ endpoints: [endpoint], callTimeoutMs: 1_000 }), (err) => {
      assert.ok(isTealError(err, "STORE_UNAVAILABLE"), String(err));
      assert.match(err.message, new RegExp(endpoint.replaceAll(".", "\\.")));
      return true;
    });
  });
});
