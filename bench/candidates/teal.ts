import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { startProcess, stopProcess, waitReady } from "../procs.ts";
import { freePorts, repoRoot, waitUntil } from "../util.ts";
import type { Candidate, CandidateContext, CandidateFactory } from "./types.ts";

/**
 * teal runs as users run it in production: its `teal` command (bin/teal.js, with the Node flags of
 * its shebang) on the compiled JavaScript (`npm run build`, done by the bench first), without the
 * TypeScript loader. BENCH_TEAL_MAIN=src/cli/main.ts runs the sources through tsx instead.
 */
export const TEAL_MAIN = path.resolve(repoRoot, process.env.BENCH_TEAL_MAIN ?? "dist/cli/main.js");
const TEAL_BIN = path.join(repoRoot, "bin/teal.js");

/** The command line that runs `teal ARGS` (the bin itself, so that its shebang's flags apply). */
export function tealCommand(args: string[]): { cmd: string; args: string[] } {
  if (process.env.BENCH_TEAL_MAIN === undefined) return { cmd: TEAL_BIN, args };
  const loader = TEAL_MAIN.endsWith(".ts") ? ["--import", "tsx"] : [];
  return { cmd: process.execPath, args: [...loader, TEAL_MAIN, ...args] };
}

let built = false;

/** Build dist/ once per bench run (unless BENCH_TEAL_MAIN points elsewhere). */
export function buildTeal(): void {
  if (built || process.env.BENCH_TEAL_MAIN) return;
  built = true;
  execFileSync(
    process.execPath,
    [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: repoRoot,
      stdio: "inherit",
    },
  );
}

function tealConfig(p: {
  proxy: number;
  admin: number;
  blue: number;
  green: number;
  sink: number;
  workers: number | undefined;
  accessLog: boolean;
  engine?: string;
}): string {
  return `proxy:
  listen: 127.0.0.1:${p.proxy}
${p.engine === undefined ? "" : `  engine: ${p.engine}\n`}  workers: ${p.workers ?? "auto"}
  accessLog: ${p.accessLog}
admin:
  listen: 127.0.0.1:${p.admin}
services:
  bench:
    routes:
      - path: /
    blue: ["http://127.0.0.1:${p.blue}"]
    green: ["http://127.0.0.1:${p.green}"]
  sink:
    routes:
      - path: /sink
    blue: ["http://127.0.0.1:${p.sink}"]
    green: ["http://127.0.0.1:${p.sink}"]
`;
}

/** teal's own proxy, started from src/cli/main.ts; switch = POST /v1/services/bench/switch. */
export const teal: CandidateFactory = (ctx) => tealOn("teal", undefined, ctx);

/** teal on its node-http engine (proxy.engine: node-http): node:http and http.request, no Node internals. */
export const tealNodeHttp: CandidateFactory = (ctx) => tealOn("teal-node-http", "node-http", ctx);

async function tealOn(
  name: string,
  engine: string | undefined,
  { tmp, backends, opts }: CandidateContext,
): Promise<Candidate> {
  buildTeal();
  if (!existsSync(TEAL_MAIN)) throw new Error(`${path.relative(repoRoot, TEAL_MAIN)} does not exist`);
  const [proxyPort, adminPort] = await freePorts(2);
  const dir = path.join(tmp, name);
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const config = path.join(dir, "teal.yaml");
  const c = { proxy: proxyPort!, admin: adminPort!, blue: backends.bluePort, green: backends.greenPort };
  await writeFile(
    config,
    tealConfig({
      ...c,
      sink: backends.sinkPort,
      workers: opts.tealWorkers,
      accessLog: opts.accessLog,
      engine,
    }),
  );
  const server = await startTealServer(name, config, dataDir, adminPort!, tmp);
  return {
    name,
    url: `http://127.0.0.1:${proxyPort}`,
    pids: () => [server.proc.pid],
    hasSink: true,
    switchTo: server.switchTo,
    stop: () => stopProcess(server.proc),
  };
}

export interface TealServer {
  proc: ReturnType<typeof startProcess>;
  /** Switch service `bench`. */
  switchTo: (color: "blue" | "green") => Promise<void>;
  /** POST /v1/services/<service>/switch; resolves when the call returned 2xx. */
  switchService: (service: string, color: "blue" | "green") => Promise<void>;
}

/** `teal server` on a config, once its admin API answers; its switch is POST /v1/services/bench/switch. */
export async function startTealServer(
  name: string,
  config: string,
  dataDir: string,
  adminPort: number,
  logDir: string,
  readyTimeoutMs = 30_000,
): Promise<TealServer> {
  const { cmd, args } = tealCommand(["server", "--config", config, "--data-dir", dataDir]);
  const proc = startProcess(name, cmd, args, { cwd: repoRoot, logDir });
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitReady(
    proc,
    "teal /v1/health",
    async () => (await fetch(`${admin}/v1/health`)).ok,
    readyTimeoutMs,
  );
  const tokenFile = path.join(dataDir, "admin.token");
  await waitUntil("teal admin.token", async () => existsSync(tokenFile), 5000);
  const token = (await readFile(tokenFile, "utf8")).trim();
  const switchService = async (service: string, color: "blue" | "green") => {
    const res = await fetch(`${admin}/v1/services/${service}/switch`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ to: color }),
    });
    const body = await res.text();
    if (!res.ok)
      throw new Error(`teal switch ${service} to ${color}: HTTP ${res.status} ${body.slice(0, 200)}`);
  };
  return { proc, switchTo: (color) => switchService("bench", color), switchService };
}
