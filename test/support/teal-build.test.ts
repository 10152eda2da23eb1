/**
 * The tests' build of teal (teal-build.ts) is never stale: on a small checkout with this one's
 * tsconfigs and package.json, an unchanged tree reuses its build, an edit to any source file gets
 * a new build that runs the edit, and a source tsc cannot compile fails with the compiler's message
 * and the fix. (A small tree: teal's own takes 8 s of CPU to build; every teal test builds it.)
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tealBuild } from "./teal-build.ts";
import { tempDir } from "./teal-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let checkout: { path: string; remove: () => Promise<void> };
const source = (file: string) => join(checkout.path, "src", file);

before(async () => {
  checkout = await tempDir("teal-build-");
  for (const file of ["tsconfig.json", "tsconfig.build.json", "package.json"]) {
    await cp(join(ROOT, file), join(checkout.path, file));
  }
  // tsconfig.json names @types/node.
  await symlink(join(ROOT, "node_modules"), join(checkout.path, "node_modules"));
  await mkdir(join(checkout.path, "src/cli"), { recursive: true });
  await writeFile(
    source("cli/main.ts"),
    'import { VERSION } from "../version.ts";\n\nconst onlyArg: string | undefined = process.argv[2];\nif (onlyArg === "--version") console.log(VERSION);\n',
  );
  await writeFile(source("version.ts"), 'export const VERSION: string = "1.0.0";\n');
});
after(() => checkout.remove());

const run = async (dist: string) =>
  (await promisify(execFile)(process.execPath, [join(dist, "cli/main.js"), "--version"])).stdout.trim();

it("runs the sources as they are now: an edit gets a new build, no edit reuses the build", async () => {
  const first = await tealBuild(checkout.path);
  assert.equal(await run(first), "1.0.0");
  assert.equal(await tealBuild(checkout.path), first, "the same sources: the same build");

  await writeFile(source("version.ts"), 'export const VERSION: string = "1.0.1-edited";\n');
  const second = await tealBuild(checkout.path);
  assert.notEqual(second, first);
  assert.equal(await run(second), "1.0.1-edited");
});

it("a source tsc cannot compile: the build fails with tsc's error and names npm run build", async () => {
  await writeFile(source("version.ts"), "export const VERSION: string = ;\n");
  await assert.rejects(tealBuild(checkout.path), (err: Error) => {
    assert.match(err.message, /^building teal for the tests failed/);
    assert.match(err.message, /src\/version\.ts\(1,\d+\): error TS1109: Expression expected/);
    assert.match(err.message, /npm run build/);
    return true;
  });
});
