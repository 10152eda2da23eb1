/**
 * Acknowledged writes to the SQLite store survive kill -9 of the writing process: a child process
 * (fixtures/crash-writer.ts) writes and prints each acknowledged revision, the test kills it with
 * SIGKILL and reopens the file. Apart from sqlite.test.ts because it starts a process and waits on
 * fsync, which `npm run test:unit` leaves out.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";

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
