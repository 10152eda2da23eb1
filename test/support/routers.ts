/** Real nginx and HAProxy processes for router tests: loopback, free ports, a temp dir, stopped by the test. */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { access, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { RuntimeApi } from "../../src/routers/haproxy/runtime-api.ts";
import { eventually } from "./eventually.ts";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RunningRouter {
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGTERM (HAProxy: hard stop; nginx: fast shutdown) and wait for exit. */
  stop(): Promise<void>;
}

export interface NginxFiles {
  readonly mainConfig: string;
  readonly configFile: string;
  readonly errorLog: string;
}

/**
 * nginx with a main config that includes teal's file (created empty, as the README says, or with
 * what `include` writes for the port nginx gets).
 */
export async function startNginx(
  dir: string,
  include: (port: number) => string = () => "",
): Promise<RunningRouter & NginxFiles> {
  const port = await freePort();
  const files = {
    mainConfig: join(dir, "nginx.conf"),
    configFile: join(dir, "teal-web.conf"),
    errorLog: join(dir, "nginx-error.log"),
  };
  await writeFile(files.configFile, include(port));
  await writeFile(
    files.mainConfig,
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${files.errorLog} notice;
worker_processes 1;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  include ${files.configFile};
}
`,
  );
  const child = spawn("nginx", ["-p", dir, "-c", files.mainConfig], { stdio: "ignore" });
  await eventually(
    () =>
      access(join(dir, "nginx.pid")).then(
        () => true,
        () => false,
      ),
    "nginx to start",
  );
  return { ...files, port, child, stop: () => stopChild(child) };
}

export interface HaproxyFiles {
  readonly socket: string;
  readonly stateFile: string;
  readonly config: string;
}

/**
 * HAProxy in master-worker mode (as `haproxy -Ws` runs under systemd) with a backend "web" of 2
 * blue and 2 green slots, and one-color backends for the override. `reload()` is what
 * `systemctl reload haproxy` does: SIGUSR2 to the master, which starts a new worker on the config.
 */
export async function startHaproxy(
  dir: string,
  port?: number,
): Promise<RunningRouter & HaproxyFiles & { reload(): Promise<void> }> {
  const files = {
    socket: join(dir, "admin.sock"),
    stateFile: join(dir, "server-state"),
    config: join(dir, "haproxy.cfg"),
  };
  const listenPort = port ?? (await freePort());
  const slots = (name: string) =>
    `backend ${name}\n  balance roundrobin\n  server-template blue 1-2 127.0.0.1:1 disabled\n  server-template green 1-2 127.0.0.1:1 disabled\n`;
  await writeFile(
    files.config,
    `global
  stats socket ${files.socket} level admin
  server-state-file ${files.stateFile}
defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  load-server-state-from-file global
frontend fe
  bind 127.0.0.1:${listenPort}
  use_backend web_%[req.hdr(x-teal-color),lower] if { req.hdr(x-teal-color),lower -m str blue green } { src 127.0.0.0/8 }
  default_backend web
${slots("web")}${slots("web_blue")}${slots("web_green")}`,
  );
  const child = spawn("haproxy", ["-W", "-db", "-f", files.config], { stdio: "ignore" });
  const api = new RuntimeApi(files.socket);
  /** The pid of the worker that answers on the stats socket, once one does. */
  const workerPid = () =>
    api.run("show info").then(
      (t) => /^Pid: (\d+)/m.exec(t)?.[1],
      () => undefined,
    );
  let worker = await eventually(workerPid, "haproxy to start");
  return {
    ...files,
    port: listenPort,
    child,
    stop: () => stopChild(child),
    async reload() {
      const old = worker;
      child.kill("SIGUSR2");
      worker = await eventually(async () => {
        const pid = await workerPid();
        return pid !== old && pid;
      }, "a new haproxy worker after the reload");
    },
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}
