/**
 * Where JSON log lines go: collected, then written to a file descriptor (stdout) in one write per
 * batch instead of one per line. The proxy's access log adds a line per request; a write started
 * per line cost more CPU than the request itself. A write at the end of each event-loop turn still
 * cost about as much as formatting the lines (a turn under load finishes 5-20 requests; each paid a
 * write(2), 6-12 µs for a few KB to a file here, and the immediate that scheduled it: 3.5-5.4% of
 * teal's CPU samples). A batch is now written BATCH_MS after its first line, or at once when
 * BATCH_BYTES wait, whichever comes first: at most ~100 writes a second however busy the proxy is.
 * Lines are joined as one string and encoded once per batch: encoding each line into the buffer
 * as it came (a native call, and a flat copy of the line, per line) cost more than formatting it.
 *
 * Writes are synchronous, as nginx writes its access log: a line handed to write(2) is in the
 * kernel, so a kill -9 loses at most the batch still waiting (BATCH_MS or BATCH_BYTES of lines),
 * and flush() (a clean stop) or the process's `exit` leaves nothing behind. A log reader slower
 * than teal (a pipe whose buffer is full: EAGAIN) never stops the proxy: what the pipe does not
 * take waits in a backlog of at most BACKLOG_BYTES, retried every few ms; past it, lines are
 * dropped, counted, and the count is reported on stderr once the reader caught up. A kill -9
 * while the reader is behind loses the backlog.
 *
 * Several processes (proxy workers) write to one stdout. To a pipe, the kernel keeps a write whole
 * only up to PIPE_BUF (4 KiB): a longer one may be cut where the pipe is full, and another
 * process's bytes land in the middle of a line. To a pipe or a socket (journald's stdout), a batch
 * therefore goes out in writes of whole lines of at most PIPE_BUF bytes each (a longer line alone).
 */

import { fstatSync, writeSync } from "node:fs";
import { type Clock, systemClock, type Timer } from "../domain/clock.ts";

/** Waiting lines are written as soon as they reach this many bytes (UTF-16 units, near enough). */
export const BATCH_BYTES = 64 * 1024;
/** Waiting lines are written this long after the first of them at the latest: what a kill -9 may lose. */
export const BATCH_MS = 10;
/** What a pipe writes whole (Linux's PIPE_BUF): the most a write to a pipe or a socket carries. */
export const PIPE_WRITE_BYTES = 4096;
/** How long to wait before retrying a non-blocking descriptor that is full (EAGAIN). */
const FULL_RETRY_MS = 5;
/** What waits for a stalled reader at most; newer lines beyond it are dropped (and counted). */
export const BACKLOG_BYTES = 16 * 1024 * 1024;
/** At a clean stop, how long to wait for a stalled reader to take the backlog. */
const EXIT_WAIT_MS = 2_000;

const open = new Set<LineBatch>();
/** One `exit` listener for all batches: they are written also when the process ends by process.exit or an uncaught error. */
function flushAllAtExit(): void {
  for (const batch of open) batch.flushAtExit();
}

export class LineBatch {
  readonly #fd: number;
  /** The descriptor is a pipe or a socket that other processes may write too: writes of whole lines, at most PIPE_WRITE_BYTES. */
  readonly #linesWhole: boolean;
  /** The waiting lines, joined (V8 keeps the joins as a rope: no copy until the batch is encoded). */
  #pending = "";
  /** Every waiting line is ASCII (the caller said so): the batch is copied as Latin-1, its UTF-8 bytes, with no encoding. */
  #ascii = true;
  /** Where a batch is encoded, reused: room for BATCH_BYTES units of 3 UTF-8 bytes each, plus one line. */
  readonly #buffer = Buffer.allocUnsafe(4 * BATCH_BYTES);
  readonly #clock: Clock;
  /** The write of the waiting lines, BATCH_MS after the first. */
  #timer: Timer | undefined;
  /** The reader is gone (EPIPE): lines are dropped, as pino does, rather than failing teal. */
  #closed = false;
  readonly #reported = new Set<string>();
  /** Bytes the reader has not taken yet (it is behind), oldest first, and their total. */
  #backlog: Buffer[] = [];
  #backlogBytes = 0;
  #retry: NodeJS.Timeout | undefined;
  #droppedLines = 0;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.flushSync();
  };

  constructor(fd: number, clock: Clock = systemClock) {
    this.#fd = fd;
    this.#linesWhole = isPipeOrSocket(fd);
    this.#clock = clock;
    if (open.size === 0) process.on("exit", flushAllAtExit);
    open.add(this);
  }

  /** Queues one line (with its newline); pino's destination interface. `ascii`: the caller knows the line is ASCII. */
  write(line: string, ascii = false): boolean {
    if (this.#closed) return true;
    this.#pending += line;
    if (!ascii) this.#ascii = false;
    if (this.#pending.length >= BATCH_BYTES) this.flushSync();
    else this.#timer ??= this.#clock.setTimeout(this.#onTimer, BATCH_MS);
    return true;
  }

  /** Writes what waits, then calls back (pino's `logger.flush(cb)` lands here). */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    this.#waitForBacklog();
    cb?.();
  }

  /** Hands every waiting line to the kernel, or to the backlog when the reader is behind. */
  flushSync(): void {
    if (this.#timer !== undefined) {
      this.#timer.cancel();
      this.#timer = undefined;
    }
    const pending = this.#pending;
    if (pending.length === 0 || this.#closed) return;
    const ascii = this.#ascii;
    this.#pending = "";
    this.#ascii = true;
    // A UTF-16 unit takes at most 3 bytes in UTF-8; a batch too long for the buffer (one huge line) is encoded alone.
    if (3 * pending.length > this.#buffer.length) this.#send(Buffer.from(pending, "utf8"));
    else this.#send(this.#buffer.subarray(0, this.#buffer.write(pending, 0, ascii ? "latin1" : "utf8")));
  }

  /** In order: behind a backlog, bytes join it. */
  #send(bytes: Buffer): void {
    if (this.#backlog.length > 0) this.#keep(bytes, 0);
    else this.#writeAll(bytes);
  }

  /** At exit: the backlog too, waiting for the reader a bounded time. */
  flushAtExit(): void {
    this.flushSync();
    this.#waitForBacklog();
  }

  #writeAll(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset, this.#chunkEnd(bytes, offset) - offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        if (code === "EAGAIN") {
          this.#keep(bytes, offset); // the reader is behind
          return;
        }
        if (code === "EPIPE") this.#closed = true;
        else this.#report(code);
        return;
      }
    }
  }

  /** Where the next write from `from` ends: the whole rest, or on a pipe or socket the last line end within PIPE_WRITE_BYTES. */
  #chunkEnd(bytes: Buffer, from: number): number {
    const limit = from + PIPE_WRITE_BYTES;
    if (!this.#linesWhole || limit >= bytes.length) return bytes.length;
    const lastEnd = bytes.lastIndexOf(10, limit - 1);
    if (lastEnd >= from) return lastEnd + 1;
    const longLineEnd = bytes.indexOf(10, limit); // a line longer than a pipe's whole write goes alone
    return longLineEnd === -1 ? bytes.length : longLineEnd + 1;
  }

  /** Keeps what the reader did not take (a copy: the buffer is reused), within BACKLOG_BYTES. */
  #keep(bytes: Buffer, from: number): void {
    const rest = bytes.subarray(from);
    if (this.#backlogBytes + rest.length > BACKLOG_BYTES) {
      for (let i = 0; i < rest.length; i++) if (rest[i] === 10) this.#droppedLines++;
    } else {
      this.#backlog.push(Buffer.from(rest));
      this.#backlogBytes += rest.length;
    }
    this.#retry ??= setTimeout(() => this.#drain(), FULL_RETRY_MS).unref();
  }

  /** Gives the reader the backlog, oldest first, as far as it takes it. */
  #drain(): boolean {
    this.#retry = undefined;
    while (this.#backlog.length > 0 && !this.#closed) {
      const head = this.#backlog[0]!;
      let written = 0;
      try {
        written = writeSync(this.#fd, head, 0, this.#chunkEnd(head, 0));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        if (code === "EAGAIN") {
          this.#retry = setTimeout(() => this.#drain(), FULL_RETRY_MS).unref();
          return false;
        }
        if (code === "EPIPE") this.#closed = true;
        else this.#report(code);
        break;
      }
      this.#backlogBytes -= written;
      if (written === head.length) this.#backlog.shift();
      else this.#backlog[0] = head.subarray(written);
    }
    if (this.#closed || this.#backlog.length === 0) {
      this.#backlog = [];
      this.#backlogBytes = 0;
      if (this.#droppedLines > 0) {
        this.#note(
          `the log reader fell behind by more than ${BACKLOG_BYTES >> 20} MiB: dropped ${this.#droppedLines} lines`,
        );
        this.#droppedLines = 0;
      }
    }
    return this.#backlog.length === 0;
  }

  #waitForBacklog(): void {
    const deadline = Date.now() + EXIT_WAIT_MS;
    clearTimeout(this.#retry);
    while (!this.#drain() && Date.now() < deadline) {
      clearTimeout(this.#retry);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, FULL_RETRY_MS);
    }
  }

  /** Any other failure (a full disk) drops this batch; the next one is tried again. */
  #report(code: string): void {
    if (this.#reported.has(code)) return;
    this.#reported.add(code);
    this.#note(`could not write log lines to descriptor ${this.#fd} (${code}); dropping them`);
  }

  #note(message: string): void {
    try {
      writeSync(2, `teal: ${message}\n`);
    } catch {}
  }
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
