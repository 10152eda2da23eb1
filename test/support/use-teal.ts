/**
 * One running teal per describe block, for the deployment tests: `useTeal(config)` registers a
 * before() that starts `teal server` in a fresh data directory (optionally deploying a first
 * version of `web`) and an after() that stops it and removes the directory. It returns the teal
 * (its URLs and token read once it runs, so `api(teal, …)` and `teal.proxyUrl` work in tests)
 * with the CLI and the usual questions (served, service, history, finished, underLoad) bound to it.
 */

import assert from "node:assert/strict";
import { after, before } from "node:test";
import {
  finished as finishedOf,
  history as historyOf,
  served as servedBy,
  service as serviceOf,
  underLoad as underLoadOf,
} from "./deployments.ts";
import { type CliResult, type Json, runCli, startTeal, type TealProcess, tempDir } from "./teal-process.ts";

export interface UseTealOptions {
  /** `teal deploy web --version V` once the server runs, asserting that it succeeds. */
  readonly firstVersion?: string;
}

export interface UsedTeal {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly token: string;
  readonly dataDir: string;
  /** The server process itself (for stop, kill9, logs). */
  readonly process: TealProcess;
  /** `teal ARGS… --data-dir <this teal's>`. */
  cli(...args: string[]): Promise<CliResult>;
  /** The JSON body the proxy answers `/` with (the app's color and version). */
  served(): Promise<Json>;
  /** GET /v1/services/web. */
  service(): Promise<Json>;
  /** web's deployments, newest first. */
  history(): Promise<Json[]>;
  /** Deployment #seq's record once it has ended. */
  finished(seq: number): ReturnType<typeof finishedOf>;
  /** Keep-alive load through the proxy while fn runs (8 connections unless told). */
  underLoad<T>(fn: () => Promise<T>, connections?: number): ReturnType<typeof underLoadOf<T>>;
}

/**
 * Call it in a describe block (or at a file's top level). `config` may be a function of the data
 * directory, for a config that names files in it, or that needs what an earlier before() made.
 */
export function useTeal(
  config: string | ((dataDir: string) => string),
  options: UseTealOptions = {},
): UsedTeal {
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let running: TealProcess | undefined;
  const teal = (): TealProcess => {
    if (!running) throw new Error("useTeal: the teal server is not running (use it inside a test)");
    return running;
  };
  const cli = (...args: string[]) => runCli([...args, "--data-dir", teal().dataDir]);

  before(async () => {
    dir = await tempDir();
    running = await startTeal(typeof config === "function" ? config(dir.path) : config, dir.path);
    if (options.firstVersion !== undefined) {
      const first = await cli("deploy", "web", "--version", options.firstVersion);
      assert.equal(first.code, 0, first.stdout + first.stderr);
    }
  });
  after(async () => {
    await running?.stop();
    await dir?.remove();
  });

  return {
    get proxyUrl() {
      return teal().proxyUrl;
    },
    get adminUrl() {
      return teal().adminUrl;
    },
    get token() {
      return teal().token;
    },
    get dataDir() {
      return teal().dataDir;
    },
    get process() {
      return teal();
    },
    cli,
    served: () => servedBy(teal()),
    service: () => serviceOf(teal()),
    history: () => historyOf(teal()),
    finished: (seq) => finishedOf(teal(), seq),
    underLoad: (fn, connections) => underLoadOf(teal(), fn, connections),
  };
}

/**
 * A processServiceConfig whose app answers every request in ~30 ms, so that latency is the app's
 * own, not the machine's noise, and 2x is a real regression.
 */
export const withAppDelay = (config: string) =>
  config.replace("stopTimeoutMs: 2000", "stopTimeoutMs: 2000\n      env: { APP_DELAY_MS: 30 }");
