/**
 * Keeps streaming memory flat. A request body (and a chunked or close-delimited response body)
 * reaches JavaScript in fresh Buffers that llhttp mallocs per read, and V8 frees a dead Buffer's
 * memory only when a GC runs; with little JS garbage, that waits for ~64 MB of external memory to
 * pile up, per burst. Asking for a young-generation GC (cheap: < 1 ms) after every few MB of
 * proxied body bytes frees them early. Small requests almost never trigger it. Measured on 1 GiB
 * uploads (README "Performance"): every 4 MB peaks ~80 MiB; 8 MB ~88; none ~110 (over the 100
 * MiB target), and fewer GCs cost more CPU, not less (median 3.4 s of CPU per GiB with every
 * 8 MB or none, 2.3 s with every 4 MB), likely because glibc hands bigger batches of freed Buffers back to the kernel and
 * later reads fault their pages in again, as perf showed on the response side (body-buffers.ts).
 * Bodies carried in recycled slabs (body-buffers.ts) are not counted: they leave no garbage, and
 * counting them forced a GC every 40 responses of 100 KB, 8× the young-generation GCs such
 * responses need otherwise (2026-12-07, `--trace-gc`: 25 against 3 per 1,000 responses).
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options: { type: "minor"; execution: "async" }) => void;

const EVERY_BYTES = 4 * 1024 * 1024;
let gc: Gc | null | undefined;
let bytes = 0;

/**
 * Counts body bytes that went through the proxy in Buffers nobody reuses (request bodies, chunked
 * responses, small copies, slabs past the free list); now and then, asks V8 for a minor GC.
 */
export function countGarbageBytes(n: number): void {
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
