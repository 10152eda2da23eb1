/**
 * Moves the SQLite store's disk flushes off the event loop. The store commits with
 * `synchronous = NORMAL`: a commit is in the OS (it survives kill -9 of teal) but not fsynced, and
 * SQLite would run its checkpoint (two fsyncs: WAL, then database) inside whichever write crossed
 * the WAL size limit, holding that API call and every request behind it for 5-50 ms on this disk.
 * Instead a worker thread with its own connection checkpoints every `periodMs` when something was
 * committed: it fsyncs the WAL, copies it into the database file and fsyncs that. So a power loss
 * or OS crash loses at most the changes of the last period (the database stays consistent: SQLite
 * replays only whole transactions), and no write ever waits for the disk.
 */

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** Default period between checkpoints (when anything was written). */
export const CHECKPOINT_PERIOD_MS = 1000;

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
}

// CommonJS, run with eval: no file to resolve from sources (tsx) or from dist alike.
// `data_version` changes when another connection committed: an idle store checkpoints nothing.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
let seen;
function checkpoint(force) {
  try {
    const version = db.pragma("data_version", { simple: true });
    if (!force && version === seen) return;
    seen = version;
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ t: "checkpoint", walFrames: row.log, checkpointedFrames: row.checkpointed });
  } catch (err) {
    parentPort.postMessage({ t: "error", message: String(err && err.message || err) });
  }
}
const timer = setInterval(checkpoint, workerData.periodMs);
parentPort.on("message", (m) => {
  if (m !== "close") return;
  clearInterval(timer);
  checkpoint(true);
  db.close();
  parentPort.postMessage({ t: "closed" });
});
`;

type FromCheckpointer =
  | ({ readonly t: "checkpoint" } & Checkpoint)
  | { readonly t: "error"; readonly message: string }
  | { readonly t: "closed" };

export class Checkpointer {
  readonly #worker: Worker;
  readonly #closed: Promise<void>;

  constructor(options: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER, {
      eval: true,
      workerData: { path: options.path, periodMs: options.periodMs, driver },
      // It holds one connection and a timer: a small heap is plenty (RSS, README "Performance").
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      // Not the process's flags (e.g. --cpu-prof, --import tsx): none of them apply to this code.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    // Never what keeps teal running; the store closes it.
    this.#worker.unref();
    this.#closed = new Promise((resolve) => {
      this.#worker.on("message", (m: FromCheckpointer) => {
        if (m.t === "checkpoint") options.onCheckpoint?.(m);
        else if (m.t === "error") options.onError(new Error(`SQLite checkpoint failed: ${m.message}`));
        else resolve();
      });
      this.#worker.on("error", (err) => {
        options.onError(err);
        resolve();
      });
      this.#worker.on("exit", () => resolve());
    });
  }

  /** A last checkpoint, then the thread's connection closes (before the store's own, which is last). */
  async close(): Promise<void> {
    this.#worker.postMessage("close");
    await this.#closed;
    await this.#worker.terminate();
  }
}
