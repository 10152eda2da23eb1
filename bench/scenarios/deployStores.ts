/**
 * deploy-stores: the deploy scenario's first part (`--deploys` blue-green deploys of
 * examples/app.mjs back to back under keep-alive wrk load) on teal's two stores, one after the
 * other: SQLite in the data directory (the default), then etcd (one member on loopback, started
 * for the run: test/support/etcd.ts), each with its own fresh teal, so the cost of etcd on a
 * deploy shows side by side.
 */

import { startEtcd } from "../../test/support/etcd.ts";
import type { BenchOptions } from "../args.ts";
import { killTracked, onStopAll, stopProcess } from "../procs.ts";
import { log } from "../util.ts";
import { type Ctx, deployNext, deploysUnderLoad, leftovers } from "./deploy.ts";
import {
  Admin,
  prepareTeal,
  type StartedTeal,
  spawnTeal,
  type TealSetup,
  waitListening,
} from "./deployTeal.ts";
import type { ResultRow } from "./types.ts";

const STORES = ["sqlite", "etcd"] as const;

async function onStore(o: BenchOptions, tmp: string, store: (typeof STORES)[number]): Promise<ResultRow[]> {
  const etcd = store === "etcd" ? await startEtcd({ members: 1 }) : undefined;
  const unhook = etcd && onStopAll(() => void etcd.stop());
  const args = etcd
    ? ["--store", `etcd://${new URL(etcd.endpoints[0]!).host}`, "--store-prefix", "/bench"]
    : [];
  let setup: TealSetup | undefined;
  let teal: StartedTeal | undefined;
  const rows: ResultRow[] = [];
  try {
    setup = await prepareTeal(tmp, `teal-deploy-${store}`, args);
    teal = spawnTeal(setup, tmp);
    await waitListening(teal);
    const c: Ctx = { o, tmp, setup, teal, admin: await Admin.open(setup), version: 0 };
    await deployNext(c); // v1 on blue
    const row = await deploysUnderLoad(c);
    rows.push({
      ...row,
      scenario: "deploy-stores",
      name: store,
      store: etcd ? "etcd, 1 member" : "SQLite",
      note: "the same deploys on each store, one after the other",
    });
  } catch (e) {
    const error = (e as Error).message.split("\n")[0]!;
    log(`deploy-stores: ${store} failed: ${error}`);
    rows.push({ scenario: "deploy-stores", name: store, error });
  } finally {
    if (teal && setup) {
      await stopProcess(teal.proc); // SIGTERM: teal drains and stops its instances
      const left = await leftovers(setup);
      if (left.length) {
        killTracked();
        rows.push({
          scenario: "deploy-stores",
          name: store,
          case: "cleanup",
          error: `app instances still running after teal stopped on SIGTERM: pids ${left.join(", ")} (killed)`,
        });
      }
    }
    await etcd?.stop();
    unhook?.();
  }
  return rows;
}

export async function deployStores(o: BenchOptions, tmp: string): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const store of STORES) {
    log(`deploy-stores: ${o.deploys} deploys under load on ${store}`);
    rows.push(...(await onStore(o, tmp, store)));
  }
  return rows;
}
