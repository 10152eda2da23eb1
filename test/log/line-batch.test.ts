import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { BATCH_BYTES, BATCH_MS, LineBatch } from "../../src/log/line-batch.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { tempDir } from "../support/teal-process.ts";

/** A LineBatch on a new file; `written()` is the file's bytes so far, as UTF-8. */
async function fileBatch(
  clock = new ManualClock(),
): Promise<{ batch: LineBatch; written: () => string; done: () => Promise<void> }> {
  const dir = await tempDir("teal-line-batch-");
  const file = `${dir.path}/out.log`;
  const fd = openSync(file, "w");
  return {
    batch: new LineBatch(fd, clock),
    written: () => readFileSync(file, "utf8"),
    done: async () => {
      closeSync(fd);
      await dir.remove();
    },
  };
}

describe("a batch of log lines", () => {
  it("writes the lines BATCH_MS after the first, in order, as UTF-8 also when ASCII lines and others mix", async () => {
    const clock = new ManualClock();
    const { batch, written, done } = await fileBatch(clock);
    const lines = ['{"a":1}\n', '{"msg":"é 😀 \u2028"}\n', '{"b":2}\n', '{"c":"ü"}\n'];
    batch.write(lines[0]!, true);
    batch.write(lines[1]!);
    await nextTurn();
    await clock.advance(BATCH_MS - 1);
    batch.write(lines[2]!, true);
    batch.write(lines[3]!);
    assert.equal(written(), "", "nothing is written at the end of a turn, nor before BATCH_MS");
    await clock.advance(1);
    assert.equal(written(), lines.join(""), "BATCH_MS after the first line, every waiting line");
    assert.equal(clock.pendingCount, 0, "no timer left once the batch is written");
    // The next batch is ASCII only again: copied as Latin-1, the same bytes; its own BATCH_MS.
    batch.write('{"d":3}\n', true);
    await clock.advance(BATCH_MS - 1);
    assert.equal(written(), lines.join(""));
    await clock.advance(1);
    assert.equal(written(), `${lines.join("")}{"d":3}\n`);
    await done();
  });

  it("writes at once when a batch is full, and a line longer than a batch whole", async () => {
    const { batch, written, done } = await fileBatch();
    const line = `${"x".repeat(999)}\n`;
    const count = Math.ceil(BATCH_BYTES / line.length);
    for (let i = 0; i < count; i++) batch.write(line, true);
    assert.equal(written(), line.repeat(count), "a full batch does not wait for the turn's end");
    // Three bytes in UTF-8 for each of its characters: more than the batch's buffer holds.
    const huge = `${"€".repeat(2 * BATCH_BYTES)}\n`;
    batch.write("before\n");
    batch.write(huge);
    assert.equal(written(), `${line.repeat(count)}before\n${huge}`);
    await done();
  });

  it("writes what waits on flush, and nothing twice", async () => {
    const clock = new ManualClock();
    const { batch, written, done } = await fileBatch(clock);
    batch.write("one\n", true);
    batch.write("two ß\n");
    batch.flushSync();
    assert.equal(written(), "one\ntwo ß\n");
    assert.equal(clock.pendingCount, 0, "the flushed batch's timer is cancelled");
    await clock.advance(BATCH_MS);
    batch.flushSync();
    assert.equal(written(), "one\ntwo ß\n");
    await done();
  });

  it("keeps every line whole when two processes write full batches to one pipe", async () => {
    // Two writers, as two proxy workers share teal's stdout (journald's pipe or socket): a 63 KB
    // write to a pipe is cut where the pipe is full and the other's bytes land mid-line, unless
    // each write is of whole lines within what a pipe writes whole.
    const writer = path.resolve(import.meta.dirname, "../fixtures/log-lines-writer.ts");
    const batches = 150;
    const run = `node --import tsx ${writer} a ${batches} & node --import tsx ${writer} b ${batches} & wait`;
    const child = spawn("sh", ["-c", run], { stdio: ["ignore", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString("utf8").split("\n");
    assert.equal(lines.pop(), "");
    const next: Record<string, number> = { a: 0, b: 0 };
    const broken: string[] = [];
    for (const line of lines) {
      try {
        const { writer: w, n } = JSON.parse(line) as { writer: string; n: number };
        assert.equal(n, next[w], `writer ${w}'s lines in order`);
        next[w]! += 1;
      } catch (err) {
        if (err instanceof SyntaxError) broken.push(line.slice(0, 80));
        else throw err;
      }
    }
    assert.deepEqual(broken.slice(0, 3), [], `${broken.length} broken lines`);
    assert.deepEqual(next, { a: batches * 300, b: batches * 300 });
  });
});
