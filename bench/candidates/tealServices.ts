/**
 * teal with many services (issue 19's scale scenarios): service sN answers Host sN.bench, and all
 * share the two backend ports, as vhosts of one app server behind one proxy.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stopProcess } from "../procs.ts";
import { freePorts, log, repoRoot } from "../util.ts";
import { buildTeal, startTealServer, TEAL_MAIN } from "./teal.ts";
import type { Candidate, CandidateContext, Color } from "./types.ts";

/** How many services (and nginx virtual hosts) the scale scenarios run. */
export const SERVICE_COUNT = 1000;
export const serviceName = (i: number) => `s${i}`;
export const serviceHost = (i: number) => `s${i}.bench`;

export interface ManyServices extends Candidate {
  count: number;
  /** Spawn -> admin API answering, ms. */
  startMs: number;
  switchService: (index: number, color: Color) => Promise<void>;
}

function config(p: {
  proxy: number;
  admin: number;
  blue: number;
  green: number;
  count: number;
  workers: number | "auto";
  accessLog: boolean;
}): string {
  const services = Array.from(
    { length: p.count },
    (_, i) => `  ${serviceName(i + 1)}:
    routes: [{ host: ${serviceHost(i + 1)} }]
    blue: ["http://127.0.0.1:${p.blue}"]
    green: ["http://127.0.0.1:${p.green}"]`,
  );
  return `proxy:
  listen: 127.0.0.1:${p.proxy}
  workers: ${p.workers}
  accessLog: ${p.accessLog}
admin:
  listen: 127.0.0.1:${p.admin}
services:
${services.join("\n")}
`;
}

/** Start teal with `count` services (name sN, host sN.bench); `label` names its dir and log. */
export async function startTealServices(
  ctx: CandidateContext,
  label: string,
  workers: number | "auto" = ctx.opts.tealWorkers ?? "auto",
  count = SERVICE_COUNT,
): Promise<ManyServices> {
  buildTeal();
  if (!existsSync(TEAL_MAIN)) throw new Error(`${path.relative(repoRoot, TEAL_MAIN)} does not exist`);
  const [proxyPort, adminPort] = await freePorts(2);
  const dir = path.join(ctx.tmp, label);
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dir, "teal.yaml");
  const { bluePort: blue, greenPort: green } = ctx.backends;
  const accessLog = ctx.opts.accessLog;
  await writeFile(
    file,
    config({ proxy: proxyPort!, admin: adminPort!, blue, green, count, workers, accessLog }),
  );
  // 1,000 services take longer to load than one: a generous bound on start-up.
  const t0 = performance.now();
  const server = await startTealServer(label, file, dataDir, adminPort!, ctx.tmp, 120_000);
  const startMs = performance.now() - t0;
  log(
    `${label}: ${count} services, ${workers} worker(s), admin API up after ${(startMs / 1000).toFixed(1)} s`,
  );
  return {
    name: label,
    url: `http://127.0.0.1:${proxyPort}`,
    pids: () => [server.proc.pid],
    hasSink: false,
    count,
    startMs,
    switchService: (i, color) => server.switchService(serviceName(i), color),
    stop: () => stopProcess(server.proc),
  };
}
