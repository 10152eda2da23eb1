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
import type { LeaseId, Store } from "../../src/store/store.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { freePort } from "../support/routers.ts";
import { EventRecorder } from "./contract/harness.ts";
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
