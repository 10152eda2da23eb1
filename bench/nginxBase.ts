import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { type Managed, startProcess } from "./procs.ts";

export const NGINX = "/usr/sbin/nginx";
const run = promisify(execFile);

/**
 * The `main` context shared by every nginx the bench starts (backend and proxy candidate).
 * `workerConnections` counts client and upstream connections alike (the memory scenario holds
 * thousands of idle ones); the descriptor limit is twice that.
 */
export function nginxMain(prefix: string, http: string, workerConnections = 4096): string {
  const t = (n: string) => path.join(prefix, "tmp", n);
  const user = process.getuid?.() === 0 ? "user root;\n" : ""; // master as root: keep workers able to use the prefix
  return `${user}worker_processes 1;
pid ${path.join(prefix, "nginx.pid")};
error_log ${path.join(prefix, "error.log")} warn;
worker_rlimit_nofile ${workerConnections * 2};
events { worker_connections ${workerConnections}; multi_accept on; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path ${t("client")};
  proxy_temp_path ${t("proxy")};
  fastcgi_temp_path ${t("fastcgi")};
  uwsgi_temp_path ${t("uwsgi")};
  scgi_temp_path ${t("scgi")};
${http}
}
`;
}

/** Write `nginx.conf` in `prefix` (creating temp dirs) and return its path. */
export async function writeNginxConf(
  prefix: string,
  http: string,
  workerConnections?: number,
): Promise<string> {
  await mkdir(path.join(prefix, "tmp"), { recursive: true });
  const conf = path.join(prefix, "nginx.conf");
  await writeFile(conf, nginxMain(prefix, http, workerConnections));
  return conf;
}

export function nginxArgs(prefix: string, conf: string, extra: string[] = []): string[] {
  return ["-p", prefix, "-c", conf, "-e", path.join(prefix, "error.log"), ...extra];
}

/** Validate the config (`nginx -t`) then start nginx in the foreground. */
export async function startNginx(
  name: string,
  prefix: string,
  conf: string,
  logDir: string,
): Promise<Managed> {
  await run(NGINX, nginxArgs(prefix, conf, ["-t", "-q"]));
  return startProcess(name, NGINX, nginxArgs(prefix, conf, ["-g", "daemon off;"]), { cwd: prefix, logDir });
}

/** `nginx -s reload`: signals the master; new workers take over, old ones finish gracefully. */
export async function reloadNginx(prefix: string, conf: string): Promise<void> {
  await run(NGINX, nginxArgs(prefix, conf, ["-s", "reload"]), { timeout: 10_000 });
}
