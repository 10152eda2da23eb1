import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { startProcess, stopProcess } from "../procs.ts";
import { freePorts, repoRoot, waitUntil } from "../util.ts";
import { buildTeal, startTealServer, TEAL_MAIN } from "./teal.ts";
import type { Candidate, CandidateContext, CandidateFactory } from "./types.ts";

/**
 * teal driving an external router (issue 6): load goes to nginx or HAProxy, a switch is
 * POST /v1/services/bench/switch on teal, which re-renders+reloads nginx or sets HAProxy's
 * server slots over its runtime API, and returns once the router serves the new routing.
 */
async function routed(
  name: string,
  ctx: CandidateContext,
  startRouter: (
    dir: string,
    port: number,
  ) => Promise<{ routerYaml: string; stop: () => Promise<void>; pid: () => number }>,
): Promise<Candidate> {
  buildTeal();
  if (!existsSync(TEAL_MAIN)) throw new Error(`${path.relative(repoRoot, TEAL_MAIN)} does not exist`);
  const [proxyPort, adminPort, routerPort] = await freePorts(3);
  const dir = path.join(ctx.tmp, name);
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const router = await startRouter(dir, routerPort!);
  const config = path.join(dir, "teal.yaml");
  await writeFile(
    config,
    `proxy: { listen: 127.0.0.1:${proxyPort}, workers: 1, accessLog: false }
admin: { listen: 127.0.0.1:${adminPort} }
services:
  bench:
    routes: [{ path: / }]
    blue: ["http://127.0.0.1:${ctx.backends.bluePort}"]
    green: ["http://127.0.0.1:${ctx.backends.greenPort}"]
    override: false
    router: ${router.routerYaml}
`,
  );
  const server = await startTealServer(`${name}-teal`, config, dataDir, adminPort!, ctx.tmp);
  return {
    name,
    url: `http://127.0.0.1:${routerPort}`,
    pids: () => [server.proc.pid, router.pid()],
    hasSink: false,
    switchTo: server.switchTo,
    stop: async () => {
      await stopProcess(server.proc);
      await router.stop();
    },
  };
}

export const tealNginx: CandidateFactory = (ctx) =>
  routed("teal-nginx", ctx, async (dir, port) => {
    const main = path.join(dir, "nginx.conf");
    const file = path.join(dir, "teal-bench.conf");
    await writeFile(file, "");
    await writeFile(
      main,
      `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log;\nworker_processes 1;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  include ${file};\n}\n`,
    );
    const p = startProcess("teal-nginx-nginx", "nginx", ["-p", dir, "-c", main], {
      cwd: dir,
      logDir: ctx.tmp,
    });
    await waitUntil("nginx pid file", async () => existsSync(path.join(dir, "nginx.pid")), 5000);
    return {
      routerYaml: `{ type: nginx, configFile: ${file}, mainConfig: ${main}, listen: 127.0.0.1:${port}, upstreamKeepalive: 256 }`,
      stop: () => stopProcess(p),
      pid: () => p.pid,
    };
  });

export const tealHaproxy: CandidateFactory = (ctx) =>
  routed("teal-haproxy", ctx, async (dir, port) => {
    const cfg = path.join(dir, "haproxy.cfg");
    const sock = path.join(dir, "admin.sock");
    await writeFile(
      cfg,
      `global\n  stats socket ${sock} level admin\n  server-state-file ${dir}/server-state\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  load-server-state-from-file global\nfrontend fe\n  bind 127.0.0.1:${port}\n  default_backend bench\nbackend bench\n  server-template blue 1-2 127.0.0.1:1 disabled\n  server-template green 1-2 127.0.0.1:1 disabled\n`,
    );
    const p = startProcess("teal-haproxy-haproxy", "haproxy", ["-f", cfg, "-db"], {
      cwd: dir,
      logDir: ctx.tmp,
    });
    await waitUntil("haproxy stats socket", async () => existsSync(sock), 5000);
    return {
      routerYaml: `{ type: haproxy, socket: ${sock}, backend: bench, stateFile: ${dir}/server-state }`,
      stop: () => stopProcess(p),
      pid: () => p.pid,
    };
  });
