/**
 * Copies a container's output into its instance log file, so that `teal logs` and failure
 * reports read containers exactly like processes. The stream ends when the container stops.
 */

import { openLogForAppend } from "../log-files.ts";
import type { DockerEngine } from "./engine-client.ts";

/** Splits the engine's multiplexed stream (no TTY): 8-byte headers [stream, 0, 0, 0, size BE]. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** The payloads of every whole frame received so far, in order. */
  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    while (this.#pending.length >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) break;
      out.push(this.#pending.subarray(8, 8 + size));
      this.#pending = this.#pending.subarray(8 + size);
    }
    return out;
  }
}

/**
 * Appends the container's stdout and stderr to logPath from `sinceSec` (Unix seconds; 0: from
 * its start) until the container stops or the signal aborts; with `follow: false`, only what it
 * wrote so far. Never rejects: a broken stream ends it.
 */
export async function followContainerLogs(
  engine: DockerEngine,
  containerId: string,
  logPath: string,
  sinceSec: number,
  signal: AbortSignal,
  options: { readonly follow?: boolean } = {},
): Promise<void> {
  // O_APPEND: a rotation (copy, then truncate) does not leave a gap of zeros behind.
  const file = await openLogForAppend(logPath);
  try {
    const body = await engine.stream(
      "GET",
      `/containers/${containerId}/logs?follow=${options.follow === false ? 0 : 1}&stdout=1&stderr=1&since=${sinceSec.toFixed(3)}`,
      `following the output of container ${containerId.slice(0, 12)}`,
      signal,
    );
    const frames = new FrameDecoder();
    for await (const chunk of body) {
      for (const payload of frames.push(chunk as Buffer)) await file.write(payload);
    }
  } catch {
    // Aborted, or the engine went away: the output stays where it got to.
  } finally {
    await file.close();
  }
}
