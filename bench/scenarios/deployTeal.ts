/**
 * The teal of the deploy scenario: the built server (like the teal candidate) with one managed
 * service running examples/app.mjs, restartable on the same data dir; its admin API; probes.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { buildTeal, TEAL_MAIN, tealCommand } from "../candidates/teal.ts";
import type { Color } from "../candidates/types.ts";
import { findByCmdline, type Managed, startProcess, trackByCmdline } from "../procs.ts";
import { freePorts, repoRoot, sleep } from "../util.ts";

export const SERVICE = "app";
const APP = path.join(repoRoot, "examples", "app.mjs");

export interface TealSetup {
  dir: string;
  dataDir: string;
  config: string;
  proxyUrl: string;
  adminUrl: string;
  /** An extra argument of every app instance (ignored by the app), unique to this bench run. */
  marker: string;
  /** Extra `teal server` arguments, e.g. `--store etcd://…` (deploy-stores). */
  serverArgs?: string[];
}

/**
 * Ports picked once: every restart listens on the same proxy and admin addresses. `name` is the
 * directory (and log) of this teal under tmp.
 */
export async function prepareTeal(
  tmp: string,
  name = "teal-deploy",
  serverArgs: string[] = [],
): Promise<TealSetup> {
  buildTeal();
  if (!existsSync(TEAL_MAIN)) throw new Error(`${path.relative(repoRoot, TEAL_MAIN)} does not exist`);
  const [proxyPort, adminPort] = await freePorts(2);
  const dir = path.join(tmp, name);
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const config = path.join(dir, "teal.yaml");
  const marker = `--teal-bench-instance=${tmp}`;
  trackByCmdline(marker); // the bench's last resort if an instance outlives teal
  await writeFile(
    config,
    `proxy:
  listen: 127.0.0.1:${proxyPort}
  workers: 1
  accessLog: false
admin:
  listen: 127.0.0.1:${adminPort}
services:
  ${SERVICE}:
    routes: [{ path: / }]
    runtime:
      type: process
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}, ${JSON.stringify(marker)}]
      stopTimeoutMs: 5000
    health: { intervalMs: 100, versionField: version }
    deployment: { timeoutMs: 30000, drainTimeoutMs: 5000, scaleDownDelayMs: 3600000 }
`,
  );
  return {
    dir,
    dataDir,
    config,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    marker,
    serverArgs,
  };
}

export interface StartedTeal {
  proc: Managed;
  /** performance.now() right before the spawn. */
  spawnedAt: number;
  /** performance.now() when the "teal listening" log line arrived; rejects if teal exits first. */
  listening: Promise<number>;
}

export function spawnTeal(s: TealSetup, tmp: string): StartedTeal {
  let heard: (at: number) => void = () => {};
  const listening = new Promise<number>((resolve) => {
    heard = resolve;
  });
  const { cmd, args } = tealCommand([
    "server",
    "--config",
    s.config,
    "--data-dir",
    s.dataDir,
    ...(s.serverArgs ?? []),
  ]);
  const spawnedAt = performance.now();
  const proc = startProcess(path.basename(s.dir), cmd, args, {
    cwd: repoRoot,
    logDir: tmp,
    env: { ...process.env, TEAL_LOG_FORMAT: "json" },
    // teal's SIGTERM waits for busy keep-alive connections (up to 10 s), then stops the instances
    stopGraceMs: 20_000,
    onStdoutLine: (line) => {
      if (!line.includes("teal listening")) return;
      try {
        if ((JSON.parse(line) as { msg?: string }).msg === "teal listening") heard(performance.now());
      } catch {
        // not a JSON line
      }
    },
  });
  const exited = new Promise<never>((_, reject) =>
    proc.child.once("exit", (code, sig) =>
      reject(new Error(`teal exited (${sig ?? code}) before "teal listening"; see ${proc.logFile}`)),
    ),
  );
  const bounded = Promise.race([listening, exited]);
  bounded.catch(() => {}); // awaited by the caller
  return { proc, spawnedAt, listening: bounded };
}

export async function waitListening(t: StartedTeal, timeoutMs = 30_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no "teal listening" within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([t.listening, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** kill -9 of teal (its process group: with workers 1, only teal; the app instances have their own). */
export async function kill9(m: Managed): Promise<void> {
  try {
    process.kill(-m.pid, "SIGKILL");
  } catch {
    // already gone
  }
  for (let i = 0; i < 200 && !m.exited; i++) await sleep(10);
  if (!m.exited) throw new Error(`teal (pid ${m.pid}) did not die on SIGKILL`);
}

export interface InstanceView {
  pid: number | null;
  alive: boolean;
  health: { status: string } | null;
}

export interface ServiceView {
  routing: { live: Color };
  colors: Record<Color, { version: string | null; ready: boolean; instances: InstanceView[] }>;
}

export interface DeploymentRecord {
  seq: number;
  kind: string;
  version: string;
  outcome: "running" | "succeeded" | "failed" | "rolled_back";
  reason: string | null;
  startedAt: string;
  finishedAt: string | null;
  events: { at: string; type: string; message: string }[];
}

/** Milliseconds from the record's startedAt (API accept) to finishedAt (the outcome). */
export const recordMs = (d: DeploymentRecord) =>
  d.finishedAt === null ? Number.NaN : Date.parse(d.finishedAt) - Date.parse(d.startedAt);

/** The admin API of the service, with the token from the data dir. */
export class Admin {
  readonly #url: string;
  readonly #token: string;

  private constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
  }

  static async open(s: TealSetup): Promise<Admin> {
    const token = (await readFile(path.join(s.dataDir, "admin.token"), "utf8")).trim();
    return new Admin(s.adminUrl, token);
  }

  async call<T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
    const send = () =>
      fetch(`${this.#url}${p}`, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    // A GET may meet a pooled connection of a teal that was killed: one retry on a new one.
    const res = await send().catch((e: unknown) => (method === "GET" ? send() : Promise.reject(e)));
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json as T };
  }

  async service(): Promise<ServiceView> {
    const r = await this.call<ServiceView>("GET", `/v1/services/${SERVICE}`);
    if (r.status !== 200) throw new Error(`GET /v1/services/${SERVICE}: HTTP ${r.status}`);
    return r.body;
  }

  async #start(p: string, body: unknown): Promise<number> {
    const r = await this.call<{ deployment?: { seq: number } }>("POST", p, body);
    if (r.status !== 202 || !r.body.deployment)
      throw new Error(`POST ${p}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body.deployment.seq;
  }

  deploy(version: string): Promise<number> {
    return this.#start(`/v1/services/${SERVICE}/deployments`, { version });
  }

  rollback(): Promise<number> {
    return this.#start(`/v1/services/${SERVICE}/rollback`, {});
  }

  /** Poll the history (every 25 ms, bounded) until deployment `seq` has an outcome. */
  async finished(seq: number, timeoutMs = 60_000): Promise<DeploymentRecord> {
    const deadline = performance.now() + timeoutMs;
    for (let i = 0; i < timeoutMs / 25 + 1 && performance.now() < deadline; i++) {
      const r = await this.call<{ deployments: DeploymentRecord[] }>(
        "GET",
        `/v1/services/${SERVICE}/deployments?limit=5`,
      );
      const d = r.body.deployments?.find((x) => x.seq === seq);
      if (d && d.outcome !== "running") return d;
      await sleep(25);
    }
    throw new Error(`deployment #${seq} did not finish within ${timeoutMs} ms`);
  }

  async deployAndWait(version: string): Promise<DeploymentRecord> {
    return this.finished(await this.deploy(version));
  }
}

/** Sorted pids of every instance of both colors. */
export const instancePids = (s: ServiceView): number[] =>
  (["blue", "green"] as const)
    .flatMap((c) => s.colors[c].instances.map((i) => i.pid ?? 0))
    .sort((a, b) => a - b);

export interface Answer {
  status: number;
  version: string | null;
}

/** One GET / through the proxy (`agent` keep-alive, or a fresh connection with `false`). */
export function getVersion(url: string, agent: http.Agent | false, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/`, { agent, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.once("end", () => {
        let version: string | null = null;
        try {
          version = String((JSON.parse(body) as { version?: unknown }).version ?? "") || null;
        } catch {
          // not the app's JSON (e.g. a 502 page)
        }
        resolve({ status: res.statusCode ?? 0, version });
      });
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error("probe timeout")));
    req.once("error", reject);
  });
}

/** Pids of the app instances of this bench run that are still alive. */
export function stillRunning(s: TealSetup): number[] {
  return findByCmdline(s.marker);
}
