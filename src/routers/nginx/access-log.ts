/**
 * Per-color counters from the JSON access log teal's nginx config writes. The log is read on
 * demand (each status call reads what was appended since), so nothing runs between calls.
 * Truncation or rotation (the file got shorter) restarts from its beginning.
 */

import { open, stat } from "node:fs/promises";
import type { Color } from "../../domain/color.ts";
import { ColorStats, type ColorStatsSnapshot } from "../../traffic/color-stats.ts";

const MAX_READ_BYTES = 4 * 1024 * 1024;

export class AccessLogCounters {
  readonly #path: string;
  readonly #stats: Record<Color, ColorStats> = { blue: new ColorStats(), green: new ColorStats() };
  #offset = 0;
  #partial = "";
  /** Lines that were not teal's JSON (e.g. another log format): counted, never fatal. */
  unreadable = 0;

  constructor(path: string) {
    this.#path = path;
  }

  /** Skips what the log already holds: counting starts now. */
  async skipExisting(): Promise<void> {
    this.#offset = await sizeOf(this.#path);
  }

  /** Reads everything appended since the last call. */
  async read(): Promise<void> {
    const size = await sizeOf(this.#path);
    if (size < this.#offset) {
      this.#offset = 0;
      this.#partial = "";
    }
    if (size === this.#offset) return;
    const handle = await open(this.#path, "r");
    try {
      while (this.#offset < size) {
        const buffer = Buffer.alloc(Math.min(MAX_READ_BYTES, size - this.#offset));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.#offset);
        if (bytesRead === 0) break;
        this.#offset += bytesRead;
        this.#consume(buffer.subarray(0, bytesRead).toString("utf8"));
      }
    } finally {
      await handle.close();
    }
  }

  snapshot(color: Color): ColorStatsSnapshot {
    // nginx does not expose in-flight requests per upstream in its open-source build.
    return this.#stats[color].snapshot(0);
  }

  #consume(text: string): void {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") continue;
      try {
        const e = JSON.parse(line) as {
          color: string;
          status: number;
          seconds: number;
          in: number;
          out: number;
        };
        if (e.color !== "blue" && e.color !== "green") continue;
        this.#stats[e.color].record(e.status, e.seconds * 1000, e.in, e.out);
      } catch {
        this.unreadable++;
      }
    }
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}
