/** What deployment tests ask a running teal, through its API and proxy, like a user would. */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { eventually } from "./eventually.ts";
import { get, load } from "./http.ts";
import { api, CLI_ARGS, type Json, type TealProcess } from "./teal-process.ts";

type Teal = Pick<TealProcess, "adminUrl" | "token" | "proxyUrl">;

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The JSON body the proxy answers `/` with (the app's color and version). */
export const served = async (teal: Teal) => JSON.parse((await get(`${teal.proxyUrl}/`)).body) as Json;
export const service = async (teal: Teal) => (await api(teal, "GET", "/v1/services/web")).body;
export const history = async (teal: Teal) =>
  (await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[];
export const pids = (s: Json, color: string) => s.colors[color].instances.map((i: Json) => i.pid) as number[];

/** Starts a deployment through the API; resolves with its number. */
export async function deploy(teal: Teal, version: string, env: Record<string, string> = {}): Promise<number> {
  const r = await api(teal, "POST", "/v1/services/web/deployments", { version, env });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.deployment.seq as number;
}

/** Resolves with the deployment's record once it has ended. */
export const finished = (teal: Teal, seq: number) =>
  eventually(async () => {
    const d = (await history(teal)).find((x) => x.seq === seq);
    return d && d.outcome !== "running" && d;
  }, `deployment #${seq} to end`);

/** Keep-alive load through the proxy while fn runs; resolves with fn's result and what clients saw. */
export async function underLoad<T>(teal: Teal, fn: () => Promise<T>, connections = 8) {
  let done = false;
  const traffic = load(`${teal.proxyUrl}/`, { total: 10_000_000, connections, stop: () => done });
  try {
    const result = await fn();
    done = true;
    return { result, traffic: await traffic };
  } finally {
    done = true;
  }
}

/** `teal logs web -f …` as a child process, collecting what it prints. */
export function followLogs(
  dataDir: string,
  ...args: string[]
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...CLI_ARGS, "logs", "web", "-f", ...args, "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  return { child, output: () => output };
}
