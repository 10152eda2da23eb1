/**
 * Keeps streaming memory flat. Every socket read allocates a fresh 64 KB Buffer, and V8 frees a
 * dead Buffer's memory only when a GC runs; with little JS garbage, that waits for ~64 MB of
 * external memory to pile up, per burst. Asking for a young-generation GC (cheap: < 1 ms) after
 * every few MB of proxied body bytes frees them early. Small requests almost never trigger it.
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options: { type: "minor"; execution: "async" }) => void;

const EVERY_BYTES = 4 * 1024 * 1024;
let gc: Gc | null | undefined;
let bytes = 0;

/** Counts body bytes that went through the proxy; now and then, asks V8 for a minor GC. */
export function countStreamedBytes(n: number): void {
  bytes += n;
  if (bytes < EVERY_BYTES) return;
  bytes = 0;
  gc ??= loadGc();
  gc?.({ type: "minor", execution: "async" });
}

function loadGc(): Gc | null {
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as Gc;
  } catch {
    return null;
  }
}
