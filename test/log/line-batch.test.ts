import assert from "node:assert/strict";
import { closeSync, openSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { BATCH_BYTES, LineBatch } from "../../src/log/line-batch.ts";
import { tempDir } from "../support/teal-process.ts";

/** A LineBatch on a new file; `written()` is the file's bytes so far, as UTF-8. */
async function fileBatch(): Promise<{ batch: LineBatch; written: () => string; done: () => Promise<void> }> {
  const dir = await tempDir("teal-line-batch-");
  const file = `${dir.path}/out.log`;
  const fd = openSync(file, "w");
  return {
    batch: new LineBatch(fd),
    written: () => readFileSync(file, "utf8"),
    done: async () => {
      closeSync(fd);
      await dir.remove();
    },
  };
}

describe("a batch of log lines", () => {
  it("writes the lines of a turn at its end, in order, as UTF-8 also when ASCII lines and others mix", async () => {
    const { batch, written, done } = await fileBatch();
    const lines = ['{"a":1}\n', '{"msg":"é 😀 \u2028"}\n', '{"b":2}\n', '{"c":"ü"}\n'];
    batch.write(lines[0]!, true);
    batch.write(lines[1]!);
    batch.write(lines[2]!, true);
    batch.write(lines[3]!);
    assert.equal(written(), "", "nothing is written before the turn ends");
    await nextTurn();
    assert.equal(written(), lines.join(""));
    // The next batch is ASCII only again: copied as Latin-1, the same bytes.
    batch.write('{"d":3}\n', true);
    await nextTurn();
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
    const { batch, written, done } = await fileBatch();
    batch.write("one\n", true);
    batch.write("two ß\n");
    batch.flushSync();
    assert.equal(written(), "one\ntwo ß\n");
    await nextTurn();
    batch.flushSync();
    assert.equal(written(), "one\ntwo ß\n");
    await done();
  });
});
