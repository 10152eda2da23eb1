/**
 * Where response body bytes live between the upstream socket and the client's. Every upstream
 * socket reads into one shared scratch buffer (READ_BUFFER), so nothing may keep a view of it after
 * the read's callback returns: a body chunk is copied out, into a recycled 64 KiB slab when it is
 * large. A slab goes back to the free list only when the client socket has finished writing it
 * (its write callback), so no byte of a write in flight is ever overwritten.
 *
 * Why not pass the socket's own buffer on: on Node 20, llhttp's body callback always copies into a
 * freshly malloc'd Buffer, and so does a plain socket read; a fresh 64 KiB allocation per chunk,
 * freed in bursts by the GC and handed back to the kernel by glibc, cost about half of teal's CPU
 * per 100 KB response in page faults and page clearing (perf). Recycled slabs stay mapped and warm.
 */

import { countGarbageBytes } from "./gc-nudge.ts";

/** The size of a socket read, and of a slab. */
export const SLAB_BYTES = 64 * 1024;
/** Below this, a chunk is copied into an ordinary Buffer (Node pools the small ones). */
const SMALL_BYTES = 8 * 1024;
/** Free slabs kept for reuse (4 MiB); more are left to the GC after a burst. */
const KEEP_FREE = 64;

/** What every upstream socket reads into (see the header: never kept past the read). */
export const READ_BUFFER = Buffer.allocUnsafeSlow(SLAB_BYTES);

const free: Buffer[] = [];
const slabs = new WeakSet<ArrayBufferLike>();

/** A copy of src[start, end) that the caller may keep; hand it to recycle() once it was written. */
export function copyChunk(src: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  if (n < SMALL_BYTES) return Buffer.from(src.subarray(start, end));
  let slab = free.pop();
  if (slab === undefined) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabs.add(slab.buffer);
  }
  src.copy(slab, 0, start, end);
  return n === SLAB_BYTES ? slab : slab.subarray(0, n);
}

/** Whether the chunk lives in a recycled slab (garbage only if recycle() finds the free list full). */
export function isSlab(chunk: Buffer): boolean {
  return slabs.has(chunk.buffer);
}

/** The chunk's bytes were written (or dropped): its slab, if it has one, may be reused. */
export function recycle(chunk: Buffer): void {
  if (!slabs.has(chunk.buffer)) return;
  if (free.length < KEEP_FREE) {
    free.push(chunk.byteLength === SLAB_BYTES ? chunk : Buffer.from(chunk.buffer, 0, SLAB_BYTES));
  } else countGarbageBytes(SLAB_BYTES); // left to the GC after a burst: counted as any fresh Buffer
}
