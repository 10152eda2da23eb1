/** etcd client failures as TealErrors with stable codes; callers branch on the code, never the text. */

import { EtcdLeaseInvalidError } from "etcd3";
import { isTealError, TealError } from "../../domain/errors.ts";

/** etcd's message when a read or watch asks for history older than the last compaction. */
export function isCompactedError(err: unknown): boolean {
  return err instanceof Error && err.message.includes("required revision has been compacted");
}

/** etcd's message when a read asks for a revision the store has not reached yet. */
export function isFutureRevisionError(err: unknown): boolean {
  return err instanceof Error && err.message.includes("required revision is a future revision");
}

/**
 * Translates what the etcd client threw. A lost lease and a compacted revision have their own
 * codes; everything else (refused connections, deadlines, "leader changed", "no leader") means the
 * cluster cannot serve the call right now: STORE_UNAVAILABLE, naming the endpoints tried.
 */
export function storeError(err: unknown, endpoints: readonly string[], what: string): TealError {
  if (isTealError(err)) return err;
  if (err instanceof EtcdLeaseInvalidError) {
    return new TealError("LEASE_NOT_FOUND", `${what}: the lease has expired or was revoked`, { cause: err });
  }
  if (isCompactedError(err)) {
    return new TealError("STORE_COMPACTED", `${what}: etcd has compacted that history`, { cause: err });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new TealError(
    "STORE_UNAVAILABLE",
    `${what}: etcd at ${endpoints.join(", ")} cannot be reached or has no leader (${reason}); check that the cluster is up and that --store names its client URLs`,
    { cause: err, details: { endpoints: [...endpoints] } },
  );
}
