/** An in-memory Store for tests of other components; it passes the same contract suite as SQLite. */

import { TableStore, type TableStoreOptions } from "../table-store.ts";
import { MemoryTables } from "./memory-tables.ts";

/**
 * Store with the SQLite adapter's exact semantics (revisions, compare-and-swap, watch replay,
 * leases on an injectable clock), kept in process memory and lost on close.
 */
export class MemoryStore extends TableStore {
  constructor(options: TableStoreOptions = {}) {
    super(new MemoryTables(), options);
  }
}
