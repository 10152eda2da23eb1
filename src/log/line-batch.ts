/**
 * Where JSON log lines go: collected, then written to a file descriptor (stdout) in one write per
 * batch instead of one per line. The proxy's access log adds a line per request; a write started
 * per line cost more CPU than the request itself. A batch is written at the end of the event-loop
 * turn that logged it (setImmediate), or at once when BATCH_BYTES wait, whichever comes first.
 *
 * Writes are synchronous, as nginx writes its access log: a line handed to write(2) is in the
 * kernel, so a kill -9 loses at most the batch still waiting, and flush() (a clean stop) or the
 * process's `exit` leaves nothing behind. A log reader slower than teal (a pipe whose buffer is full)
 * slows teal down to its pace rather than letting memory grow without bound.
 */

import { writeSync } from "node:fs";

/** Waiting lines are written as soon as they reach this many bytes (UTF-16 units, near enough). */
export const BATCH_BYTES = 64 * 1024;
/** How long to wait before retrying a non-blocking descriptor that is full (EAGAIN). */
const FULL_RETRY_MS = 5;

const open = new Set<LineBatch>();
/** One `exit` listener for all batches: they are written also when the process ends by process.exit or an uncaught error. */
function flushAllAtExit(): void {
  for (const batch of open) batch.flushSync();
}

export class LineBatch {
  readonly #fd: number;
  /** Lines are encoded into one reused buffer as they come: no string per batch to build and copy. */
  readonly #buffer = Buffer.allocUnsafe(2 * BATCH_BYTES);
  #used = 0;
  #scheduled = false;
  /** The reader is gone (EPIPE): lines are dropped, as pino does, rather than failing teal. */
  #closed = false;
  readonly #reported = new Set<string>();
  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.flushSync();
  };

  constructor(fd: number) {
    this.#fd = fd;
    if (open.size === 0) process.on("exit", flushAllAtExit);
    open.add(this);
  }

  /** Queues one line (with its newline); pino's destination interface. */
  write(line: string): boolean {
    if (this.#closed) return true;
    // A UTF-16 unit takes at most 3 bytes in UTF-8; a line too long for the buffer is encoded alone.
    if (this.#used + 3 * line.length > this.#buffer.length) {
      this.flushSync();
      if (3 * line.length > this.#buffer.length) {
        this.#writeAll(Buffer.from(line, "utf8"));
        return true;
      }
    }
    this.#used += this.#buffer.write(line, this.#used, "utf8");
    if (this.#used >= BATCH_BYTES) this.flushSync();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onTurnEnd);
    }
    return true;
  }

  /** Writes what waits, then calls back (pino's `logger.flush(cb)` lands here). */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** Writes every waiting line before returning. */
  flushSync(): void {
    if (this.#used === 0 || this.#closed) return;
    const used = this.#used;
    this.#used = 0;
    this.#writeAll(this.#buffer.subarray(0, used));
  }

  #writeAll(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        if (code === "EAGAIN") {
          // A non-blocking pipe is full: wait for the reader, as a blocking write would.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FULL_RETRY_MS);
          continue;
        }
        if (code === "EPIPE") this.#closed = true;
        else this.#report(code);
        return;
      }
    }
  }

  /** Any other failure (a full disk) drops this batch; the next one is tried again. */
  #report(code: string): void {
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    try {
      writeSync(2, `teal: could not write log lines to descriptor ${this.#fd} (${code}); dropping them\n`);
    } catch {}
  }
}
