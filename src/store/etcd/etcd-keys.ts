/** How the Store's keys and records map onto etcd's: one prefix for teal, etcd's own revisions. */

import type { IKeyValue } from "etcd3";
import type { KeyValue, LeaseId } from "../store.ts";

/** Where teal's keys live in etcd unless --store-prefix says otherwise. */
export const DEFAULT_ETCD_PREFIX = "/teal";

/** Maps Store keys to etcd keys under `<prefix>/` and back. */
export class KeySpace {
  /** The prefix with exactly one trailing slash, e.g. "/teal/". */
  readonly root: string;

  /** @param prefix e.g. "/teal"; a trailing slash is optional. */
  constructor(prefix: string) {
    this.root = `${prefix.replace(/\/+$/, "")}/`;
  }

  key(key: string): Buffer {
    return Buffer.from(this.root + key);
  }

  /** The etcd range [key, rangeEnd) holding every Store key that starts with `prefix`. */
  range(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.key(prefix);
    return { key, range_end: prefixEnd(key) };
  }

  /** etcd's record as the Store's (the key without the prefix; lease 0 as no lease). */
  record(kv: IKeyValue): KeyValue {
    return {
      key: kv.key.toString().slice(this.root.length),
      value: kv.value.toString(),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
      lease: leaseOf(kv.lease),
    };
  }

  /** The Store key of an etcd key (for delete events, which carry only the key). */
  storeKey(key: Buffer): string {
    return key.toString().slice(this.root.length);
  }
}

/** etcd's lease 0 means "no lease". */
function leaseOf(lease: string | number | undefined): LeaseId | undefined {
  return lease === undefined || String(lease) === "0" ? undefined : (String(lease) as LeaseId);
}

/** The smallest key greater than every key starting with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** etcd lease ids are decimal int64s; anything else cannot name a lease. */
export function isLeaseIdShape(lease: string): boolean {
  return /^[1-9]\d{0,18}$/.test(lease);
}
