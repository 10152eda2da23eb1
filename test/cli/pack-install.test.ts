/**
 * teal installed like a real tool: `npm pack` of this checkout (prepack builds dist/), then
 * `npm install -g --prefix <empty dir> ./teal-*.tgz` as a user would, and the installed `teal`
 * runs: --version, `teal server` with the example config (examples/canary.yaml on free ports) and
 * its dashboard, and a deploy of the example app through the installed CLI. No dev dependency may
 * be installed. Slow (a TypeScript build and an npm install): one test.
 *
 * The packing runs on a copy of the tracked files (with this checkout's node_modules for the
 * build), so it never rewrites this worktree's dist/. better-sqlite3's native binary: on a
 * machine with internet its install script downloads a prebuilt one from GitHub; this machine
 * has no route to GitHub, and compiling SQLite from source takes minutes, so the test hands
 * prebuild-install the binary built for this checkout as a local prebuild (the same file the
 * download would give). The packages themselves come from the npm registry (or npm's cache).
 */

import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "../support/teal-process.ts";

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLES = join(ROOT, "examples");
/** Dev-only packages: none of them may land in the installed package's node_modules. */
const DEV_ONLY = ["typescript", "tsx", "@biomejs", "esbuild", "preact", "playwright-core", "uplot"];

async function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return exec(file, args, {
    cwd: options.cwd,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", ...options.env },
    maxBuffer: 64 * 1024 * 1024,
    // Bounded: a stuck npm fails the test instead of hanging the suite.
    timeout: 15 * 60_000,
  });
}

/** Starts the installed `teal server` and resolves with the addresses it logs once listening. */
async function startInstalled(teal: string, args: string[]) {
  const child = spawn(teal, ["server", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TEAL_LOG_FORMAT: "json" },
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = once(child, "exit");
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === "teal listening") resolve(entry);
      } catch {}
    });
    exited.then(([code]) =>
      reject(new Error(`teal server exited with ${code} before listening:\n${stderr}`)),
    );
  });
  return { child, exited, proxyUrl: `http://${ready.proxy}`, adminUrl: String(ready.admin) };
}

async function stop(child: ChildProcess, exited: Promise<unknown>) {
  child.kill("SIGTERM");
  await exited;
}

it("npm pack, npm install -g into an empty prefix: teal runs, serves its dashboard and deploys the example", async () => {
  const dir = await tempDir("teal-pack-");
  const started = Date.now();
  try {
    // 1. Pack a copy of the tracked files; prepack builds dist/ there.
    const src = join(dir.path, "src");
    await mkdir(src);
    const { stdout: files } = await run("git", ["ls-files", "-z"], { cwd: ROOT });
    await run("sh", ["-c", 'git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$1"', "sh", src], {
      cwd: ROOT,
    });
    assert.ok(files.length > 0);
    const nodeModules = realpathSync(join(ROOT, "node_modules"));
    await run("ln", ["-s", nodeModules, join(src, "node_modules")]);
    const out = join(dir.path, "out");
    await mkdir(out);
    const packed = await run("npm", ["pack", "--pack-destination", out], { cwd: src });
    const tgz = join(out, packed.stdout.trim().split("\n").at(-1)!);
    assert.ok(existsSync(tgz), `npm pack wrote no tarball:\n${packed.stdout}`);
    const packedAt = Date.now();

    // 2. Install it globally into an empty prefix.
    const bs = JSON.parse(await readFile(join(nodeModules, "better-sqlite3/package.json"), "utf8")) as {
      version: string;
    };
    const prebuilds = join(dir.path, "prebuilds");
    await mkdir(prebuilds);
    const prebuild = `better-sqlite3-v${bs.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    await run("tar", [
      "-czf",
      join(prebuilds, prebuild),
      "-C",
      // On another Node major (scripts/test-on-node.sh), the copy built for that Node.
      process.env.TEAL_TEST_BETTER_SQLITE3 ?? join(nodeModules, "better-sqlite3"),
      "build/Release/better_sqlite3.node",
    ]);
    const prefix = join(dir.path, "prefix");
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", tgz], {
      cwd: dir.path,
      env: { npm_config_better_sqlite3_local_prebuilds: prebuilds },
    });
    const installedAt = Date.now();
    const teal = join(prefix, "bin/teal");
    const pkg = join(prefix, "lib/node_modules/teal");
    const installedDeps = await readdir(join(pkg, "node_modules"));
    for (const dev of DEV_ONLY) assert.ok(!installedDeps.includes(dev), `dev dependency installed: ${dev}`);
    assert.ok(!existsSync(join(pkg, "src")), "the sources are not in the package");

    // 3. The installed command.
    const version = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).version as string;
    assert.equal((await run(teal, ["--version"])).stdout.trim(), version);

    // 4. teal server with the example config, on free ports, the app from examples/.
    const data = join(dir.path, "data");
    await mkdir(data);
    const example = await readFile(join(EXAMPLES, "canary.yaml"), "utf8");
    const config = example
      .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
      .replace("listen: 127.0.0.1:7070", "listen: 127.0.0.1:0")
      .replace(/cwd: \.\s.*$/m, `cwd: ${EXAMPLES}`);
    assert.notEqual(config, example);
    const configPath = join(dir.path, "teal.yaml");
    await writeFile(configPath, config);
    const server = await startInstalled(teal, ["--config", configPath, "--data-dir", data]);
    try {
      // The dashboard: the page, and the script it names.
      const page = await fetch(`${server.adminUrl}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      const html = await page.text();
      const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, `no script in the dashboard page:\n${html}`);
      const js = await fetch(new URL(script, server.adminUrl));
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      assert.ok((await js.text()).length > 10_000);

      // A deploy through the installed CLI (the first version goes live at once), then the app answers.
      const deploy = await run(teal, ["deploy", "hello", "--version", "v1", "--data-dir", data]);
      assert.match(deploy.stdout, /v1/);
      const res = await fetch(`${server.proxyUrl}/`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { version: string }).version, "v1");
      const status = await run(teal, ["status", "--json", "--data-dir", data]);
      assert.match(status.stdout, /"hello"/);
    } finally {
      await stop(server.child, server.exited);
    }
    const done = Date.now();
    console.log(
      `pack ${((packedAt - started) / 1000).toFixed(1)} s, install ${((installedAt - packedAt) / 1000).toFixed(1)} s, run ${((done - installedAt) / 1000).toFixed(1)} s`,
    );
  } finally {
    await dir.remove();
  }
});
