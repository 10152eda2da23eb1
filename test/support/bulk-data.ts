/** Large bodies for streaming tests, written from one repeated buffer so the test never holds them. */

import { once } from "node:events";
import type { Writable } from "node:stream";

const PATTERN = Buffer.alloc(64 * 1024, "teal streams bodies; ");

/** Writes `totalBytes` of a repeated pattern to `out`, waiting for "drain" whenever it asks to. */
export async function writeRepeated(out: Writable, totalBytes: number): Promise<void> {
  let left = totalBytes;
  while (left > 0) {
    const chunk = left >= PATTERN.length ? PATTERN : PATTERN.subarray(0, left);
    left -= chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  }
}

/** The largest resident set size seen since construction; call `sample()` as data flows. */
export class RssPeak {
  readonly #startBytes = process.memoryUsage.rss();
  #peakBytes = this.#startBytes;

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peakBytes) this.#peakBytes = rss;
  }

  get growthMb(): number {
    return (this.#peakBytes - this.#startBytes) / 1024 / 1024;
  }
}
