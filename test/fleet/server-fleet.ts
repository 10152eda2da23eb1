/**
 * A fleet of `teal server --node` processes on one 3-member etcd, for a test file: registers the
 * file's before/after hooks (etcd up; every server stopped, the instances' detached process
 * groups killed, data directories removed, etcd down) and starts nodes on demand.
 */

import { after, before } from "node:test";
import { groupsWritingUnder } from "../../src/runtime/process/proc-info.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

export interface ServerFleet {
  /** Every node started so far, by name (a restarted node replaces its entry). */
  readonly servers: Map<string, TealProcess>;
  /**
   * Starts `teal server --node NAME` with this config, in a new data directory or `dataDir`,
   * dialing `storeHosts` (host:port, comma-separated; default every member, e.g. a relay's address
   * to cut the node off).
   */
  startNode(node: string, config: string, dataDir?: string, storeHosts?: string): Promise<TealProcess>;
  /** The etcd cluster (once the file's before hook ran): to kill and restart a member. */
  etcd(): EtcdCluster;
}

export function useServerFleet(options: {
  readonly prefix: string;
  readonly leaseTtlS: number;
}): ServerFleet {
  let etcd: EtcdCluster | undefined;
  const servers = new Map<string, TealProcess>();
  const dirs: Array<{ path: string; remove: () => Promise<void> }> = [];

  before(async () => {
    etcd = await startEtcd({ members: 3 });
  });

  after(async () => {
    for (const teal of servers.values()) await teal.stop().catch(() => {});
    // The instances are detached process groups writing under each data directory: end them.
    for (const dir of dirs) {
      for (const pgid of groupsWritingUnder(dir.path)) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {}
      }
    }
    await Promise.all(dirs.map((d) => d.remove()));
    await etcd?.stop();
  });

  return {
    servers,
    etcd() {
      if (etcd === undefined) throw new Error("etcd is not started yet (before hook)");
      return etcd;
    },
    async startNode(node, config, dataDir, storeHosts) {
      const dir = dataDir === undefined ? await tempDir() : { path: dataDir, remove: async () => {} };
      dirs.push(dir);
      const hosts = storeHosts ?? (etcd?.endpoints ?? []).map((e) => new URL(e).host).join(",");
      const teal = await startTeal(config, dir.path, {
        serverArgs: [
          "--store",
          `etcd://${hosts}`,
          "--store-prefix",
          options.prefix,
          "--node",
          node,
          "--lease-ttl",
          String(options.leaseTtlS),
        ],
      });
      servers.set(node, teal);
      return teal;
    },
  };
}
