import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BATCH_BYTES, LineBatch } from "../../src/log/line-batch.ts";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const line = (i: number) => `{"msg":"request","n":${i}}\n`;

describe("log line batches", () => {
  let dir: string;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "teal-line-batch-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A batch on a fresh file, with its linger timer in the test's hands. */
  function batchOnFile() {
    const file = path.join(dir, `log-${n++}`);
    const fd = openSync(file, "w");
    const lingering: (() => void)[] = [];
    const batch = new LineBatch(fd, (fn) => lingering.push(fn));
    return {
      batch,
      read: () => readFileSync(file, "latin1"),
      /** Runs the linger timers armed so far; returns how many there were. */
      linger: () => lingering.splice(0).map((fn) => fn()).length,
      close: () => closeSync(fd),
    };
  }

  it("lets access lines of many event-loop turns wait for one write, written in order when the linger runs out", async () => {
    const f = batchOnFile();
    for (let i = 0; i < 100; i++) {
      f.batch.appendLater(line(i), true);
      await nextTurn();
    }
    assert.equal(f.read(), "", "access lines were written before the linger ran out");
    assert.equal(f.linger(), 1, "one linger timer for the whole batch");
    assert.equal(f.read(), Array.from({ length: 100 }, (_, i) => line(i)).join(""));
    // The next access line arms the timer again.
    f.batch.appendLater(line(100), true);
    assert.equal(f.linger(), 1);
    assert.ok(f.read().endsWith(line(100)));
    f.close();
  });

  it("writes another log line at the end of its turn, with the access lines before it, in order", async () => {
    const f = batchOnFile();
    f.batch.appendLater(line(1), true);
    await nextTurn();
    f.batch.write('{"msg":"switched"}\n');
    f.batch.appendLater(line(2), true);
    await nextTurn();
    assert.equal(f.read(), `${line(1)}{"msg":"switched"}\n${line(2)}`);
    f.close();
  });

  it("writes access lines at once when a whole batch waits, without the linger", () => {
    const f = batchOnFile();
    const long = `${"x".repeat(999)}\n`;
    const count = Math.ceil(BATCH_BYTES / long.length);
    for (let i = 0; i < count; i++) f.batch.appendLater(long, true);
    assert.equal(f.read().length, count * long.length);
    f.close();
  });

  it("leaves no waiting access line behind when the process ends", async () => {
    const file = path.join(dir, "exit.log");
    const module = fileURLToPath(new URL("../../src/log/line-batch.ts", import.meta.url));
    // The real timer: the process ends long before it would run (it does not keep the process up).
    const script = `
      import { openSync } from "node:fs";
      import { LineBatch } from ${JSON.stringify(module)};
      const batch = new LineBatch(openSync(${JSON.stringify(file)}, "w"));
      for (let i = 0; i < 3; i++) batch.appendLater('{"n":' + i + '}\\n', true);
    `;
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], (err) =>
        err ? reject(err) : resolve(),
      );
    });
    assert.equal(readFileSync(file, "utf8"), '{"n":0}\n{"n":1}\n{"n":2}\n');
  });
});
