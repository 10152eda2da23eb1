/**
 * Moves the SQLite store's disk flushes off the event loop. The store commits with
 * `synchronous = NORMAL`: a commit is in the OS (it survives kill -9 of teal) but not fsynced, and
 * SQLite would run its checkpoint (two fsyncs: WAL, then database) inside whichever write crossed
 * the WAL size limit, holding that API call and every request behind it for 5-50 ms on this disk.
 * Instead, once a period in which something was committed, a worker thread with its own
 * connection checkpoints: it fsyncs the WAL, copies it into the database file and fsyncs that. So
 * a power loss or OS crash loses at most the changes of about the last period (the database stays
 * consistent: SQLite replays whole transactions only), and no write waits for the disk. The thread
 * costs ~7.5 MiB of RSS: it runs only while there are writes, and ends after a minute without.
 * A store opened `held` (teal server's start-up) makes no thread for the writes of its start-up:
 * `release` checkpoints them once on the store's own connection, before the proxy listens, so an
 * idle teal does not carry the thread for its first minute.
 */

import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** Default period between checkpoints (when anything was written). */
export const CHECKPOINT_PERIOD_MS = 1000;
/** Periods without a write after which the thread ends (it starts again on the next write). */
const IDLE_PERIODS = 60;

/** One checkpoint's outcome: frames in the WAL and frames copied into the database file. */
export interface Checkpoint {
  readonly walFrames: number;
  readonly checkpointedFrames: number;
}

export interface CheckpointerOptions {
  readonly path: string;
  readonly periodMs: number;
  readonly onCheckpoint?: (c: Checkpoint) => void;
  readonly onError: (err: unknown) => void;
  /** Until `release`, writes are not checkpointed (no thread starts for them). */
  readonly held?: boolean;
}

// CommonJS, run with eval: no file to resolve from sources (tsx) or from dist alike.
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
db.pragma("cache_size = 16");
parentPort.on("message", (m) => {
  if (m === "close") {
    db.close();
    parentPort.postMessage({ t: "closed" });
    return;
  }
  try {
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ t: "checkpoint", walFrames: row.log, checkpointedFrames: row.checkpointed });
  } catch (err) {
    parentPort.postMessage({ t: "error", message: String((err && err.message) || err) });
  }
});
`;

type FromThread =
  | ({ readonly t: "checkpoint" } & Checkpoint)
  | { readonly t: "error"; readonly message: string }
  | { readonly t: "closed" };

interface Thread {
  readonly worker: Worker;
  readonly ended: Promise<void>;
}

export class Checkpointer {
  readonly #options: CheckpointerOptions;
  /** `total_changes()` of the store's connection: rows it changed since it opened. */
  readonly #changes: () => number;
  /** A checkpoint on the store's own connection, on this thread (fsyncs included). */
  readonly #checkpointHere: () => Checkpoint;
  readonly #timer: NodeJS.Timeout;
  #held: boolean;
  #seen: number;
  #idle = 0;
  #thread: Thread | undefined;
  /** A thread that went idle and is closing its connection. */
  #stopping: Promise<void> = Promise.resolve();

  /** `db` is the store's own connection, read once a period (a count, no I/O). */
  constructor(db: Database.Database, options: CheckpointerOptions) {
    this.#options = options;
    const changes = db.prepare<[], number>("SELECT total_changes()").pluck();
    this.#changes = () => changes.get()!;
    this.#checkpointHere = () => {
      const [row] = db.pragma("wal_checkpoint(PASSIVE)") as { log: number; checkpointed: number }[];
      return { walFrames: row!.log, checkpointedFrames: row!.checkpointed };
    };
    this.#seen = this.#changes();
    this.#held = options.held ?? false;
    this.#timer = setInterval(() => this.#tick(), options.periodMs).unref();
  }

  /** Whether the checkpoint thread runs now (it holds memory only while there are writes). */
  get running(): boolean {
    return this.#thread !== undefined;
  }

  /**
   * Ends the hold: what was written meanwhile is checkpointed now, on this thread (it blocks for
   * the fsyncs, 5-50 ms: call it before serving), and later writes go to the thread as usual.
   */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const changes = this.#changes();
    if (changes === this.#seen) return;
    this.#seen = changes;
    try {
      const done = this.#checkpointHere();
      this.#options.onCheckpoint?.(done);
    } catch (err) {
      // As from the thread: the writes stay in the WAL, and the next checkpoint copies them.
      this.#options.onError(err);
    }
  }

  /** Ends the thread; the store's own connection, closed last, does the final checkpoint. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([this.#stopping, this.#stop()]);
  }

  #tick(): void {
    if (this.#held) return;
    const changes = this.#changes();
    if (changes !== this.#seen) {
      this.#seen = changes;
      this.#idle = 0;
      this.#thread ??= this.#start();
      this.#thread.worker.postMessage("checkpoint");
    } else if (this.#thread !== undefined && ++this.#idle >= IDLE_PERIODS) {
      this.#stopping = this.#stop();
    }
  }

  #start(): Thread {
    const worker = new Worker(THREAD, {
      eval: true,
      workerData: {
        path: this.#options.path,
        // The copy this process loaded, through its loader's hooks (a test run on another Node
        // major resolves its own build), not a fresh CommonJS lookup that would skip them.
        driver: fileURLToPath(import.meta.resolve("better-sqlite3")),
      },
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
      // Not the process's flags (e.g. --cpu-prof, --import tsx): none of them apply to this code.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    worker.unref(); // never what keeps teal running
    const ended = new Promise<void>((resolve) => {
      worker.on("message", (m: FromThread) => {
        if (m.t === "checkpoint") this.#options.onCheckpoint?.(m);
        else if (m.t === "error") this.#options.onError(new Error(`SQLite checkpoint failed: ${m.message}`));
        else resolve();
      });
      worker.on("error", (err) => this.#options.onError(err));
      worker.on("exit", () => resolve());
    });
    return { worker, ended };
  }

  async #stop(): Promise<void> {
    const thread = this.#thread;
    if (thread === undefined) return;
    this.#thread = undefined;
    thread.worker.postMessage("close");
    await thread.ended;
    await thread.worker.terminate();
  }
}
