import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writeFileAtomic } from "../../src/fs/atomic-file.ts";
import { tempDir } from "../support/teal-process.ts";

describe("writeFileAtomic", () => {
  it("lets concurrent writers of one file all succeed, leaving one whole content and no temp files", async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, "server-state");
      const contents = Array.from({ length: 20 }, (_, i) => `writer ${i}\n`.repeat(1000));
      await Promise.all(contents.map((c) => writeFileAtomic(file, c)));
      assert.ok(contents.includes(await readFile(file, "utf8")), "one writer's whole content");
      assert.deepEqual(await readdir(dir.path), ["server-state"]);
    } finally {
      await dir.remove();
    }
  });
});
