import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getHeapStatistics } from "node:v8";
import { loadConfigFile, parseConfigText } from "../../src/config/load.ts";
import { THREAD_FROM_BYTES } from "../../src/config/yaml-text.ts";
import { isTealError } from "../../src/domain/errors.ts";
import { tempDir } from "../support/teal-process.ts";

/** The bench's config of `count` services (issue 19): ~130 KB for 1,000. */
function manyServices(count: number): string {
  const services = Array.from(
    { length: count },
    (_, i) =>
      `  s${i}:\n    routes: [{ host: s${i}.test }]\n    blue: ["http://127.0.0.1:9001"]\n    green: ["http://127.0.0.1:9002"]`,
  );
  return `proxy:\n  listen: 127.0.0.1:8080\n  workers: 2\nservices:\n${services.join("\n")}\n`;
}

const MiB = 1024 * 1024;

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    const path = join(dir.path, "teal.yaml");
    await writeFile(path, text);
    await fn(path);
  } finally {
    await dir.remove();
  }
}

describe("a big config (1,000 services)", () => {
  // First in this file (its own process): the heap has not grown for another parse yet.
  it("loads without growing the server's heap by the parser's objects, and the same as a small one would", async () => {
    const text = manyServices(1000);
    assert.ok(text.length >= THREAD_FROM_BYTES);
    await withFile(text, async (path) => {
      const before = getHeapStatistics().total_heap_size;
      const config = await loadConfigFile(path);
      const grown = (getHeapStatistics().total_heap_size - before) / MiB;
      // Parsed here, yaml's tokens, CST and Document grew the heap by 13-15 MiB, kept for minutes.
      assert.ok(grown < 8, `the heap grew by ${grown.toFixed(1)} MiB`);
      assert.equal(Object.keys(config.services).length, 1000);
      assert.deepEqual(config, parseConfigText(text, path));
    });
  });

  it("reports a YAML syntax error with its line, as CONFIG_INVALID", async () => {
    await withFile(`${manyServices(1000)}  broken: [\n - a\n b: c`, async (path) => {
      await assert.rejects(loadConfigFile(path), (err: unknown) => {
        assert.ok(isTealError(err, "CONFIG_INVALID"), String(err));
        assert.match(err.message, /YAML syntax error: .* at line \d+/);
        return true;
      });
    });
  });

  it("refuses a YAML alias bomb as CONFIG_INVALID", async () => {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (const [prev, name] of ["ab", "bc", "cd", "de", "ef", "fg", "gh", "hi"]) {
      bomb += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    }
    await withFile(`${bomb}# ${"x".repeat(THREAD_FROM_BYTES)}\n`, async (path) => {
      await assert.rejects(loadConfigFile(path), (err: unknown) => {
        assert.ok(isTealError(err, "CONFIG_INVALID"), String(err));
        assert.match(err.message, /YAML aliases expand too far/);
        return true;
      });
    });
  });
});
