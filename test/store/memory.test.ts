/** Runs the store contract against the in-memory fake. */

import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { runStoreContract } from "./contract.ts";

runStoreContract(
  "memory",
  async (clock, { historyLimit }) => {
    const store = new MemoryStore({ clock, historyLimit, leaseSweepIntervalMs: 0 });
    return { store, cleanup: () => store.close() };
  },
  { persistent: false },
);
