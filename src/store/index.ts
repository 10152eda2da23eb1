/** The state store: the port, its adapters and the typed-record layer. */

export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export { DEFAULT_ETCD_PREFIX, EtcdStore, type EtcdStoreOptions } from "./etcd/etcd-store.ts";
export { followPrefix, type PrefixFollower } from "./follow-prefix.ts";
export { MemoryStore } from "./memory/memory-store.ts";
export { QUARANTINE_PREFIX, RecordCollection, type StoredRecord } from "./records.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.ts";
export type * from "./store.ts";
export { parseStoreChoice, type StoreChoice } from "./store-choice.ts";
export type { TableStoreOptions } from "./table-store.ts";
