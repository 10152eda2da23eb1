/** What every adapter checks of a `putMany` before it writes, and the order it writes in. */

import { TealError } from "../domain/errors.ts";
import { MAX_PUT_MANY, type PutManyEntry } from "./store.ts";

/**
 * The entries sorted by key in UTF-8 byte order (the order listings and watch events use), or
 * INVALID_REQUEST for too many entries or a key given twice (etcd refuses both in a transaction).
 */
export function sortedBatch(entries: readonly PutManyEntry[]): PutManyEntry[] {
  if (entries.length > MAX_PUT_MANY) {
    throw new TealError(
      "INVALID_REQUEST",
      `putMany writes at most ${MAX_PUT_MANY} keys at once, got ${entries.length}; split the batch`,
      { details: { entries: entries.length, max: MAX_PUT_MANY } },
    );
  }
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) {
      throw new TealError("INVALID_REQUEST", `putMany got the key ${sorted[i]!.key} twice`, {
        details: { key: sorted[i]!.key },
      });
    }
  }
  return sorted;
}
