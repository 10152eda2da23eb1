/**
 * The one behaviour contract every Store adapter passes, real or fake. An adapter's test file
 * calls runStoreContract with a factory; nothing here knows which adapter it is testing.
 */

import { describe } from "node:test";
import type { StoreFactory } from "./contract/harness.ts";
import { kvCases } from "./contract/kv.cases.ts";
import { leaseCases } from "./contract/lease.cases.ts";
import { lifecycleCases } from "./contract/lifecycle.cases.ts";
import { putManyCases } from "./contract/put-many.cases.ts";
import { watchCases } from "./contract/watch.cases.ts";

export type { StoreFactory, StoreHarness } from "./contract/harness.ts";
export { ManualClock } from "./contract/harness.ts";

/**
 * Registers the contract suite for one adapter.
 * @param makeStore builds a fresh, empty store on the given clock for each test; it must disable
 * background lease sweeps so only the test moves time.
 * @param options.persistent the adapter keeps its data across a reopen (its harness has `reopen`).
 */
export function runStoreContract(
  name: string,
  makeStore: StoreFactory,
  options: { readonly persistent: boolean },
): void {
  describe(`${name} store contract`, () => {
    kvCases(makeStore);
    putManyCases(makeStore);
    watchCases(makeStore);
    leaseCases(makeStore);
    lifecycleCases(makeStore, options.persistent);
  });
}
