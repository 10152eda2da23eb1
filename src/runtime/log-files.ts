/**
 * An instance's log file: created private to teal's user, size-capped rotation to `<path>.1`,
 * reading its tail, and following it.
 */

import { watch } from "node:fs";
import { copyFile, type FileHandle, mkdir, open, stat, truncate } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Clock, Timer } from "../domain/clock.ts";

/** readLastLines never reads more than this much, however long the lines are. */
const TAIL_MAX_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/**
 * Opens an instance's log for appending (O_APPEND), creating it mode 0600 in a directory of mode
 * 0700: what an app prints can hold secrets. The rotated copy keeps the mode (copyFile copies it).
 */
export async function openLogForAppend(path: string): Promise<FileHandle> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  return open(path, "a", 0o600);
}

/** How often a running instance's log size is checked. */
const LOG_CHECK_MS = 1000;

/**
 * Rotates an instance's log once it passes maxBytes, checking its size every second until
 * `exited` resolves. A failed check (say the directory was removed) is simply tried again next time.
 */
export function capLogSize(path: string, maxBytes: number, clock: Clock, exited: Promise<unknown>): void {
  let done = false;
  let timer: Timer | undefined;
  const schedule = () => {
    timer = clock.setTimeout(() => {
      void rotateIfOver(path, maxBytes)
        .catch(() => false)
        .then(() => {
          if (!done) schedule();
        });
    }, LOG_CHECK_MS);
  };
  schedule();
  void exited.then(() => {
    done = true;
    timer?.cancel();
  });
}

/** Where the previous part of a log file goes when it is rotated. */
export function rotatedPath(path: string): string {
  return `${path}.1`;
}

/**
 * When the file is larger than maxBytes, copies it to `<path>.1` (replacing the older copy) and
 * truncates it to 0 bytes; the instance keeps writing because it appends (O_APPEND). Lines written
 * between the copy and the truncation are lost, as with logrotate's copytruncate. A missing file
 * is not an error. Returns whether it rotated.
 */
export async function rotateIfOver(path: string, maxBytes: number): Promise<boolean> {
  const size = await fileSize(path);
  if (size === null || size <= maxBytes) return false;
  await copyFile(path, rotatedPath(path));
  await truncate(path, 0);
  return true;
}

/**
 * The last n lines of the log, across `<path>.1` and `<path>` (older first). Reads backwards from
 * the end in chunks and at most 1 MiB in all; missing files count as empty.
 */
export async function readLastLines(path: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const chunks: Buffer[] = [];
  let budget = TAIL_MAX_BYTES;
  let newlines = 0;
  let readToStart = true;
  const enough = () => newlines > n || budget === 0;
  for (const file of [path, rotatedPath(path)]) {
    if (enough()) {
      readToStart = false;
      break;
    }
    const handle = await openIfExists(file);
    if (!handle) continue;
    try {
      let position = (await handle.stat()).size;
      while (position > 0 && !enough()) {
        const length = Math.min(CHUNK_BYTES, position, budget);
        position -= length;
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, position);
        const chunk = buffer.subarray(0, bytesRead);
        chunks.unshift(chunk);
        newlines += countNewlines(chunk);
        budget -= length;
      }
      if (position > 0) readToStart = false;
    } finally {
      await handle.close();
    }
  }
  const lines = Buffer.concat(chunks).toString("utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  // Reading started mid-line: the first piece is the tail of a line we did not read in full.
  if (!readToStart) lines.shift();
  return lines.slice(-n).map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/**
 * Calls onText with every chunk appended to the file after the call, until the signal aborts; then
 * resolves. When the file shrinks (rotated or truncated) it reads again from the start; when it does
 * not exist yet it waits for it. The file's directory must exist.
 */
export function followFile(path: string, onText: (text: string) => void, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  const name = basename(path);
  let decoder = new StringDecoder("utf8");
  let offset = 0;
  let reading: Promise<void> | undefined;
  let readAgain = false;

  const readNew = async (): Promise<void> => {
    const handle = await openIfExists(path);
    if (!handle) {
      offset = 0;
      return;
    }
    try {
      const { size } = await handle.stat();
      if (size < offset) {
        offset = 0;
        decoder = new StringDecoder("utf8");
      }
      while (offset < size && !signal.aborted) {
        const length = Math.min(CHUNK_BYTES, size - offset);
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const text = decoder.write(buffer.subarray(0, bytesRead));
        if (text !== "" && !signal.aborted) onText(text);
      }
    } finally {
      await handle.close();
    }
  };

  return new Promise((resolve, reject) => {
    let failed = false;
    const finish = (err?: unknown) => {
      watcher.close();
      signal.removeEventListener("abort", onAbort);
      // Resolve only once the last read has closed its file handle.
      void (reading ?? Promise.resolve()).finally(() => (err === undefined ? resolve() : reject(err)));
    };
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      finish(err);
    };
    const onAbort = () => {
      if (!failed) finish();
    };
    // One read at a time; events that arrive meanwhile ask for one more pass.
    const drain = () => {
      if (reading) {
        readAgain = true;
        return;
      }
      reading = (async () => {
        do {
          readAgain = false;
          await readNew();
        } while (readAgain && !signal.aborted);
      })()
        .catch(fail)
        .finally(() => {
          reading = undefined;
        });
    };

    // Watch the directory, not the file: that also sees the file being created or replaced.
    let started = false;
    let changedBeforeStart = false;
    const watcher = watch(dirname(path), (_event, filename) => {
      if (signal.aborted || (filename !== null && filename !== name)) return;
      if (started) drain();
      else changedBeforeStart = true;
    });
    watcher.on("error", fail);
    signal.addEventListener("abort", onAbort, { once: true });
    // Start at the current end; the watcher is already on, so nothing appended from here is missed.
    fileSize(path).then((size) => {
      offset = size ?? 0;
      started = true;
      if (changedBeforeStart) drain();
    }, fail);
  });
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function countNewlines(chunk: Buffer): number {
  let count = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
  return count;
}
