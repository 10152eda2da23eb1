/** Typed JSON records over a Store: one key per record, decoded on read, quarantined when corrupt. */

import { TealError } from "../domain/errors.ts";
import type { KeyValue, Store, WriteResult } from "./store.ts";

/** Where a record that fails to decode is moved, with its raw text, for a human to inspect. */
export const QUARANTINE_PREFIX = "quarantine/";

/** A decoded record and the revision to pass back for compare-and-swap. */
export interface StoredRecord<T> {
  readonly id: string;
  readonly value: T;
  readonly modRevision: number;
}

/**
 * The records under one key prefix (e.g. "services/"); record `id` lives at key `prefix + id`.
 * `decode` validates parsed JSON and throws on anything that is not a valid T.
 */
export class RecordCollection<T> {
  readonly #store: Store;
  readonly #prefix: string;
  readonly #decode: (json: unknown) => T;

  constructor(store: Store, prefix: string, decode: (json: unknown) => T) {
    if (prefix === "" || prefix.startsWith(QUARANTINE_PREFIX) || QUARANTINE_PREFIX.startsWith(prefix)) {
      throw new TealError("INVALID_REQUEST", `record prefix "${prefix}" overlaps "${QUARANTINE_PREFIX}"`);
    }
    this.#store = store;
    this.#prefix = prefix;
    this.#decode = decode;
  }

  /** The record, or undefined if absent. Throws RECORD_CORRUPT if it does not decode. */
  async get(id: string): Promise<StoredRecord<T> | undefined> {
    const kv = await this.#store.get(this.#prefix + id);
    if (kv === undefined) return undefined;
    try {
      return this.#toRecord(kv);
    } catch (err) {
      throw new TealError("RECORD_CORRUPT", `record ${kv.key} does not decode`, {
        cause: err,
        details: { key: kv.key },
      });
    }
  }

  /**
   * Every record that decodes, sorted by id, read at one revision. Records that do not decode are
   * moved to `quarantine/<key>` and reported by key instead of failing the whole list.
   */
  async list(): Promise<{ items: StoredRecord<T>[]; quarantined: string[]; revision: number }> {
    const { items: kvs, revision } = await this.#store.list(this.#prefix);
    const items: StoredRecord<T>[] = [];
    const quarantined: string[] = [];
    for (const kv of kvs) {
      try {
        items.push(this.#toRecord(kv));
      } catch {
        await this.#quarantine(kv);
        quarantined.push(kv.key);
      }
    }
    return { items, quarantined, revision };
  }

  /** Writes the record as JSON; with expectModRevision, only if it is unchanged (0: must not exist). */
  async put(id: string, value: T, expectModRevision?: number): Promise<WriteResult> {
    const options = expectModRevision === undefined ? {} : { expectModRevision };
    return this.#store.put(this.#prefix + id, JSON.stringify(value), options);
  }

  #toRecord(kv: KeyValue): StoredRecord<T> {
    const value = this.#decode(JSON.parse(kv.value));
    return { id: kv.key.slice(this.#prefix.length), value, modRevision: kv.modRevision };
  }

  async #quarantine(kv: KeyValue): Promise<void> {
    // Copy first, then delete: a crash in between leaves the record in both places, never in none.
    await this.#store.put(QUARANTINE_PREFIX + kv.key, kv.value);
    // Only delete the version we read; a record rewritten meanwhile is left for the next list.
    await this.#store.delete(kv.key, { expectModRevision: kv.modRevision });
  }
}
