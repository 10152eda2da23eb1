/**
 * Acknowledged writes to the SQLite store survive kill -9 of the writing process: a child process
 * (fixtures/crash-writer.ts) writes and prints each acknowledged revision, the test kills it with
 * SIGKILL and reopens the file. And that the background checkpoint puts them in the database file
 * (what a power loss leaves), from a thread that runs only while there are writes. Apart from
 * sqlite.test.ts because it starts a process and threads and waits on fsync, which `npm run
 * test:unit` leaves out.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import type { Checkpoint } from "../../src/store/sqlite/checkpointer.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { eventually } from "../support/eventually.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const crashWriter = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));

describe("sqlite store durability", () => {
  it("keeps every acknowledged write when the writing process is killed with SIGKILL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-crash-"));
    const path = join(dir, "state.db");
    try {
      const child = spawn(process.execPath, ["--import", "tsx", crashWriter, path], {
        cwd: projectRoot,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = once(child, "exit");
      const acked: number[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        const match = /^acked (\d+)$/.exec(line);
        assert.ok(match, `unexpected line from the writer: ${line}`);
        acked.push(Number(match[1]));
        if (acked.length === 200) break;
      }
      child.kill("SIGKILL");
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [null, "SIGKILL"]);

      const store = await SqliteStore.open({ path, leaseSweepIntervalMs: 0 });
      try {
        const revision = await store.revision();
        assert.ok(revision >= 200, `revision ${revision} is behind the 200 acknowledged writes`);
        for (const ackedRevision of acked) {
          const kv = await store.get(`crash/${ackedRevision}`);
          assert.deepEqual([kv?.value, kv?.modRevision], [`value ${ackedRevision}`, ackedRevision]);
        }
        assert.equal((await store.list("crash/")).items.length, revision);
      } finally {
        await store.close();
      }
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      } finally {
        db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The store's timer and thread never keep a process alive: a test waiting on them holds a timer
 * of its own, which also ends the wait (a hung wait would keep the test process from exiting).
 */
async function keepingAlive<T>(wait: () => Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([wait(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe("sqlite store flush", () => {
  // A write resolves once committed to the OS (no fsync: it survives kill -9, test above); the
  // background checkpoint puts it in the database file on disk, so a power loss cannot lose it.
  it("copies acknowledged writes into the database file itself within the checkpoint period", {
    timeout: 20_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-flush-"));
    const path = join(dir, "state.db");
    let flushed: (c: Checkpoint) => void = () => {};
    const store = await SqliteStore.open({
      path,
      leaseSweepIntervalMs: 0,
      checkpointPeriodMs: 50,
      onCheckpoint: (c) => flushed(c),
    });
    try {
      let checkpoints = 0;
      const next = () =>
        new Promise<void>((resolve) => {
          flushed = (c) => {
            if (c.walFrames > 0 && c.checkpointedFrames === c.walFrames) resolve();
          };
        });
      for (let n = 1; n <= 50; n++) await store.put(`flush/${n}`, `value ${n}`);
      // A checkpoint under way during the last write may miss it: the next one copies it.
      for (let rows = 0; rows < 50; checkpoints++) {
        await keepingAlive(next, "a checkpoint of every frame");
        // The database file alone, as a power loss would leave it without the WAL's unsynced tail.
        const copy = join(dir, "copy.db");
        await copyFile(path, copy);
        const db = new Database(copy);
        try {
          rows = db.prepare("SELECT count(*) FROM kv WHERE key LIKE 'flush/%'").pluck().get() as number;
        } finally {
          db.close();
          await rm(copy, { force: true });
        }
      }
      assert.ok(checkpoints <= 3, `${checkpoints} checkpoints before the writes were in the database file`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("sqlite store flush thread", () => {
  // The checkpoint thread costs ~7.5 MiB of RSS: an idle teal should not carry it.
  it("runs only while there are writes: started by one, gone after 60 periods without", {
    timeout: 20_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-flush-"));
    const threads = async () => (await readdir("/proc/self/task")).length;
    const idle = await threads();
    let checkpointed: () => void = () => {};
    const store = await SqliteStore.open({
      path: join(dir, "state.db"),
      leaseSweepIntervalMs: 0,
      checkpointPeriodMs: 20,
      onCheckpoint: () => checkpointed(),
    });
    try {
      assert.equal(await threads(), idle, "no thread before the first write");
      const first = new Promise<void>((resolve) => {
        checkpointed = resolve;
      });
      await store.put("k", "v");
      await keepingAlive(() => first, "the first checkpoint");
      assert.equal(await threads(), idle + 1, "one thread while writes come");
      // 60 periods of 20 ms without a write end it.
      await eventually(async () => (await threads()) === idle, "the checkpoint thread to end");
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // teal server's start-up writes every routing record to a fresh data directory: a thread for
  // that one checkpoint would stay a minute (~6 MiB of RSS at 1,000 services, issue 19).
  it("holds no thread for start-up's writes: startedUp() puts them in the database file itself", {
    timeout: 20_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "teal-flush-"));
    const path = join(dir, "state.db");
    const threads = async () => (await readdir("/proc/self/task")).length;
    const idle = await threads();
    const reports: Checkpoint[] = [];
    let checkpointed: () => void = () => {};
    const store = await SqliteStore.open({
      path,
      leaseSweepIntervalMs: 0,
      checkpointPeriodMs: 20,
      holdCheckpoints: true,
      onCheckpoint: (c) => {
        reports.push(c);
        checkpointed();
      },
    });
    try {
      for (let n = 1; n <= 20; n++) await store.put(`start/${n}`, `value ${n}`);
      // An absence to show: ten periods pass (unheld, the first of them starts the thread).
      await delay(200);
      assert.equal(await threads(), idle, "no checkpoint thread while start-up's writes are held");
      assert.equal(reports.length, 0, "no checkpoint while held");

      store.startedUp();
      assert.equal(reports.length, 1, "startedUp() checkpoints at once");
      assert.ok(reports[0]!.walFrames > 0 && reports[0]!.checkpointedFrames === reports[0]!.walFrames);
      assert.equal(await threads(), idle, "on the store's own thread");
      // The database file alone, as a power loss would leave it without the WAL's unsynced tail.
      const copy = join(dir, "copy.db");
      await copyFile(path, copy);
      const db = new Database(copy, { readonly: true });
      try {
        const rows = db.prepare("SELECT count(*) FROM kv WHERE key LIKE 'start/%'").pluck().get();
        assert.equal(rows, 20);
      } finally {
        db.close();
      }

      // After start-up, a write is checkpointed by the thread as before.
      const next = new Promise<void>((resolve) => {
        checkpointed = resolve;
      });
      await store.put("after", "v");
      await keepingAlive(() => next, "the thread's first checkpoint");
      assert.equal(await threads(), idle + 1, "the thread runs for writes after start-up");
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
