/** Runs the real `teal` command as child processes: the server, and CLI invocations against it. */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { tealBuild } from "./teal-build.ts";

// This checkout's sources compiled (teal-build.ts), not bin/teal.js, which would prefer a possibly
// stale dist/ build, nor the sources under tsx, which took 2-4 times the CPU to start teal.
/** The `teal` command's entry point the tests run: src/cli/main.ts, compiled. */
export const TEAL_MAIN = join(await tealBuild(), "cli/main.js");
const TSX = ["--import", import.meta.resolve("tsx")];
/** node arguments that run the `teal` command from this checkout's sources. */
export const CLI_ARGS: readonly string[] = [TEAL_MAIN];
/** A TypeScript module (an older checkout's sources, a preload) needs tsx to load. */
const loaderFor = (...modules: Array<string | undefined>) =>
  modules.some((m) => m?.endsWith(".ts")) ? TSX : [];

export interface TealProcess {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly token: string;
  readonly dataDir: string;
  readonly logs: Record<string, unknown>[];
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
}

export async function tempDir(prefix = "teal-test-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The installed `teal` command, run as an executable (its shebang picks node and its flags). */
export const TEAL_BIN = fileURLToPath(new URL("../../bin/teal.js", import.meta.url));

/**
 * Starts `teal server` and resolves once it logs "teal listening"; from this checkout's build, or with
 * `{ bin: true }` through bin/teal.js as users run it. `preload` is a module node loads first.
 * TEAL_TEST_PROXY_ENGINE (see data-plane.ts) sets proxy.engine where the config leaves it out.
 */
/** How long a teal start may take before the test fails (a loaded CI machine starts one in 2-20 s). */
const START_BOUND_MS = 120_000;

export async function startTeal(
  configYaml: string,
  dataDir: string,
  options: {
    bin?: boolean;
    maxOpenFiles?: number;
    preload?: string;
    serverArgs?: readonly string[];
    /** Another copy of teal's src/cli/main.ts (an older checkout, for an upgrade; run under tsx). */
    main?: string;
  } = {},
): Promise<TealProcess> {
  const configPath = join(dataDir, "teal.yaml");
  await writeFile(configPath, withTestEngine(configYaml));
  const args = ["server", "--config", configPath, "--data-dir", dataDir, ...(options.serverArgs ?? [])];
  const command = options.bin ? TEAL_BIN : process.execPath;
  const preload = options.preload === undefined ? [] : ["--import", options.preload];
  const main = options.main ?? TEAL_MAIN;
  const commandArgs = options.bin ? args : [...loaderFor(main, options.preload), ...preload, main, ...args];
  // prlimit execs the command: the child is teal itself, with a lower RLIMIT_NOFILE.
  const limited = options.maxOpenFiles !== undefined;
  const child = spawn(
    limited ? "prlimit" : command,
    limited
      ? [`--nofile=${options.maxOpenFiles}:${options.maxOpenFiles}`, command, ...commandArgs]
      : commandArgs,
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TEAL_LOG_FORMAT: "json" },
    },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = once(child, "exit");
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "teal listening") resolve(entry);
      } catch {}
    });
    exited.then(([code]) =>
      reject(new Error(`teal server exited with ${code} before listening:\n${stderr}`)),
    );
  });
  // A start that never ends would hang the whole test run: after the bound, the test fails with
  // what teal logged so far, and teal is killed.
  let startBound: NodeJS.Timeout | undefined;
  const bounded = new Promise<never>((_, reject) => {
    startBound = setTimeout(() => {
      child.kill("SIGKILL");
      const tail = logs.slice(-15).map((entry) => JSON.stringify(entry));
      reject(
        new Error(
          `teal did not listen within ${START_BOUND_MS} ms; its last log lines:\n${tail.join("\n")}\n${stderr}`,
        ),
      );
    }, START_BOUND_MS);
  });
  const ready = await Promise.race([listening, bounded]).finally(() => clearTimeout(startBound));
  const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
  return {
    child,
    proxyUrl: `http://${ready.proxy}`,
    adminUrl: String(ready.admin),
    token,
    dataDir,
    logs,
    async stop() {
      child.kill("SIGTERM");
      const [code] = await exited;
      return code as number | null;
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The config with proxy.engine set to TEAL_TEST_PROXY_ENGINE's, unless it names one itself. */
function withTestEngine(yaml: string): string {
  const engine = process.env.TEAL_TEST_PROXY_ENGINE;
  if (engine === undefined || engine === "auto" || /^\s+engine:/m.test(yaml)) return yaml;
  const block = /^proxy:[ \t]*\n([ \t]+)/m.exec(yaml);
  if (block !== null) return yaml.replace(block[0], `${block[0]}engine: ${engine}\n${block[1]}`);
  if (/^proxy:\s*\{/m.test(yaml)) return yaml.replace(/^proxy:\s*\{/m, `proxy: { engine: ${engine},`);
  if (!/^proxy:/m.test(yaml)) return `${yaml}\nproxy:\n  engine: ${engine}\n`;
  throw new Error(
    `TEAL_TEST_PROXY_ENGINE: write this test's proxy section as a block to set its engine:\n${yaml}`,
  );
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `teal ARGS…` to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TEAL_MAIN, ...args],
      // Bounded: a CLI that never returns fails its test instead of hanging the suite.
      { env: { ...process.env, ...env }, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

/** A teal.yaml with one service "web" on the given blue and green backends, ports chosen by the OS. */
export function webServiceConfig(
  blue: { url: string },
  green: { url: string },
  options: { workers?: number; service?: string } = {},
): string {
  return `
proxy:
  listen: 127.0.0.1:0
  workers: ${options.workers ?? 1}
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${blue.url}]
    green: [${green.url}]
${options.service ?? ""}`;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON documents
export type Json = Record<string, any>;

/** One admin API call with the server's token. */
export async function api(
  teal: Pick<TealProcess, "adminUrl" | "token">,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(teal.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${teal.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

export const FIXTURE_APP = fileURLToPath(new URL("../fixtures/app.mjs", import.meta.url));

/** A teal.yaml with one managed service "web" running the fixture app, probed every 50 ms. */
export function processServiceConfig(extra = "", options: { instances?: number } = {}): string {
  return `
proxy:
  listen: 127.0.0.1:0
  workers: 1
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    runtime:
      type: process
      command: ["${process.execPath}", "${FIXTURE_APP}"]
      instances: ${options.instances ?? 1}
      stopTimeoutMs: 2000
    health: { intervalMs: 50, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2, versionField: version }
${extra}`;
}
