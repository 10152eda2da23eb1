/** Reading the tail of a rotated log and following a log as it grows. */

import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { followFile, readLastLines, rotateIfOver } from "../../src/runtime/log-files.ts";
import { eventually } from "../support/eventually.ts";

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "teal-logs-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readLastLines", () => {
  it("returns the last lines across the rotated file and the current one, older first", async () => {
    const path = join(dir, "across.log");
    await writeFile(`${path}.1`, "one\ntwo\nthree\n");
    await writeFile(path, "four\nfive\n");
    assert.deepEqual(await readLastLines(path, 3), ["three", "four", "five"]);
    assert.deepEqual(await readLastLines(path, 10), ["one", "two", "three", "four", "five"]);
  });

  it("joins a line that rotation cut in two", async () => {
    const path = join(dir, "cut.log");
    await writeFile(`${path}.1`, "one\ntw");
    await writeFile(path, "o\nthree");
    assert.deepEqual(await readLastLines(path, 2), ["two", "three"]);
  });

  it("finds the last lines of a large file", async () => {
    const path = join(dir, "large.log");
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${"y".repeat(40)}`);
    await writeFile(path, `${lines.join("\n")}\n`);
    assert.deepEqual(await readLastLines(path, 4), lines.slice(-4));
  });

  it("returns no lines for a log that does not exist", async () => {
    assert.deepEqual(await readLastLines(join(dir, "missing.log"), 5), []);
  });
});

describe("rotateIfOver", () => {
  it("copies a file over the cap to .1 and empties it, and leaves smaller files alone", async () => {
    const path = join(dir, "rotate.log");
    await writeFile(path, "0123456789\n");
    assert.equal(await rotateIfOver(path, 100), false);
    assert.equal(await rotateIfOver(path, 5), true);
    assert.deepEqual(await readLastLines(path, 5), ["0123456789"]);
    assert.equal(await rotateIfOver(join(dir, "none.log"), 5), false);
  });
});

describe("followFile", () => {
  it("reports text appended after it started, across a truncation, until aborted", async () => {
    const path = join(dir, "follow.log");
    await writeFile(path, "from before\n");
    let seen = "";
    const controller = new AbortController();
    const following = followFile(path, (text) => (seen += text), controller.signal);

    // The follow starts asynchronously: ping until it reports, then check what comes next.
    await eventually(async () => {
      await appendFile(path, "ping\n");
      return seen.includes("ping");
    }, "the follower to start");
    assert.ok(!seen.includes("from before"));
    await appendFile(path, "appended\n");
    await eventually(() => seen.includes("appended\n"), "the appended line");

    await truncate(path, 0);
    await appendFile(path, "after truncation\n");
    await eventually(() => seen.includes("after truncation\n"), "the line after truncation");

    controller.abort();
    await following;
    const before = seen;
    await appendFile(path, "after abort\n");
    assert.equal(seen, before);
  });

  it("waits for a file that does not exist yet", async () => {
    const path = join(dir, "later.log");
    let seen = "";
    const controller = new AbortController();
    const following = followFile(path, (text) => (seen += text), controller.signal);
    await eventually(async () => {
      await appendFile(path, "hello\n");
      return seen.startsWith("hello\n");
    }, "the new file's text");
    controller.abort();
    await following;
  });
});
