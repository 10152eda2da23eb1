/**
 * The `teal` the tests run as a child process: JavaScript compiled by tsc from this checkout's src/
 * with tsconfig.build.json (what `npm run build` ships), kept in .cache/teal-build/<hash of the
 * inputs>/dist. Why not the sources under tsx: loading teal through tsx took 2.4-3.9 s of CPU per
 * `teal server` start here, the build 0.9-1.0 s, and the suite starts teal hundreds of times.
 * Why not dist/: it may be stale, and a test must never run other code than the checkout's.
 *
 * The first test process that needs a build makes it (about 8 s of CPU, no type check: `npm run
 * check` does that), under a lock file so that parallel test files wait for it instead of
 * building it again; every later run with the same sources finds it. `npm run test:ci` builds it
 * before the first test starts. Run directly (`node --import tsx test/support/teal-build.ts`), it
 * builds and prints the directory.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  utimes,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eventually } from "./eventually.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Changes when the way the build is made changes, so that older builds are not reused. */
const RECIPE =
  "tsc -p tsconfig.build.json --noCheck --noResolve; dist/dashboard -> <checkout>/dist/dashboard";
/** A build another process is making may take this long on a loaded machine before we give up. */
const WAIT_FOR_OTHER_BUILD_MS = 10 * 60_000;
/** Builds no test process has used for this long are removed when a new one is made. */
const UNUSED_BUILD_MS = 60 * 60_000;

/**
 * Builds teal from the sources of the checkout at `root` (this one by default) unless a build of
 * exactly these sources exists; resolves with its dist directory.
 */
export async function tealBuild(root = ROOT): Promise<string> {
  const cache = join(root, ".cache/teal-build");
  const hash = await inputsHash(root);
  const dir = join(cache, hash);
  const done = join(dir, "built");
  await mkdir(cache, { recursive: true });
  for (;;) {
    if (existsSync(done)) {
      // Marks the build as in use, for the pruning below.
      const now = new Date();
      await utimes(done, now, now).catch(() => {});
      return join(dir, "dist");
    }
    const lock = await takeLock(join(cache, `${hash}.lock`));
    if (lock === undefined) {
      await eventually(
        () => existsSync(done) || !existsSync(join(cache, `${hash}.lock`)),
        "another test process's build of teal (.cache/teal-build)",
        WAIT_FOR_OTHER_BUILD_MS,
      );
      continue;
    }
    try {
      if (!existsSync(done)) await build(root, dir);
    } finally {
      await lock.release();
    }
    await pruneUnused(cache, hash);
  }
}

/** sha256 over the compiler's inputs: src/ (the dashboard aside, built apart), tsconfigs, tsc's version. */
async function inputsHash(root: string): Promise<string> {
  const hash = createHash("sha256").update(RECIPE);
  const ts = createRequire(import.meta.url)("typescript/package.json") as { version: string };
  hash.update(`\0typescript ${ts.version}`);
  const files = [
    ...(await sourceFiles(join(root, "src"), join(root, "src/dashboard"))),
    join(root, "tsconfig.json"),
    join(root, "tsconfig.build.json"),
  ];
  for (const file of files) hash.update(`\0${relative(root, file)}\0`).update(await readFile(file));
  return hash.digest("hex").slice(0, 16);
}

async function sourceFiles(dir: string, except: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== except) out.push(...(await sourceFiles(path, except)));
    } else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The lock, or undefined while a live process holds it (a dead holder's lock is taken over). */
async function takeLock(path: string): Promise<{ release: () => Promise<void> } | undefined> {
  for (;;) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(String(process.pid));
      await file.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) return undefined;
    // Its holder died (or had not written its pid yet: then it is a moment old, and we wait).
    const age =
      Date.now() -
      (await stat(path).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      ));
    if (!Number.isInteger(holder) && age < 5_000) return undefined;
    await unlink(path).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Compiles into a fresh directory and renames it into place, so no half-made build is ever found. */
async function build(root: string, dir: string): Promise<void> {
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
    const outDir = join(tmp, "dist");
    // No type check (`npm run check` does it) and no import resolution: with isolatedModules the
    // emit is the same, byte for byte, and takes about a third of the CPU.
    const args = [
      tsc,
      "-p",
      join(root, "tsconfig.build.json"),
      "--outDir",
      outDir,
      "--noCheck",
      "--noResolve",
    ];
    await promisify(execFile)(process.execPath, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 }).catch(
      (err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `building teal for the tests failed (tsc -p tsconfig.build.json into ${outDir}); fix the sources ` +
            `(\`npm run build\` shows the same errors):\n${err.stdout ?? ""}${err.stderr ?? err.message}`,
        );
      },
    );
    // The built dashboard-assets.js serves ../../dist/dashboard from itself: the checkout's
    // dashboard build, as when teal runs from src/ or dist/.
    await symlink(relative(outDir, join(root, "dist/dashboard")), join(outDir, "dashboard"));
    await (await open(join(tmp, "built"), "w")).close();
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Removes the builds of older sources that no test process has used for a while. */
async function pruneUnused(cache: string, current: string): Promise<void> {
  for (const name of await readdir(cache).catch(() => [] as string[])) {
    if (name === current || name.endsWith(".lock")) continue;
    const path = join(cache, name);
    const used = await stat(join(path, "built")).then(
      (s) => s.mtimeMs,
      // A temporary directory: removed once its builder is surely gone.
      () =>
        stat(path).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ),
    );
    if (Date.now() - used > UNUSED_BUILD_MS) await rm(path, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await tealBuild());
