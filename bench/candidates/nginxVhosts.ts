/** nginx with 1,000 virtual hosts (server blocks sN.bench), all proxying to the same backend: the anchor of teal's 1,000 services. */
import path from "node:path";
import { startNginx, writeNginxConf } from "../nginxBase.ts";
import { stopProcess, waitReady } from "../procs.ts";
import { canConnect, freePort } from "../util.ts";
import { SERVICE_COUNT, serviceHost } from "./tealServices.ts";
import type { Candidate, CandidateContext } from "./types.ts";

function httpBlock(listen: number, upstreamPort: number, count: number): string {
  const servers = Array.from(
    { length: count },
    (_, i) => `  server {
    listen 127.0.0.1:${listen}${i === 0 ? " backlog=4096" : ""};
    server_name ${serviceHost(i + 1)};
    keepalive_requests 100000;
    keepalive_timeout 120s;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
  return `  server_names_hash_max_size 4096;
  server_names_hash_bucket_size 64;
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 100000;
  }
${servers.join("\n")}`;
}

/** Start nginx (1 worker) with `count` server blocks; no switch (it is the throughput anchor). */
export async function startNginxVhosts(ctx: CandidateContext, count = SERVICE_COUNT): Promise<Candidate> {
  const port = await freePort();
  const prefix = path.join(ctx.tmp, "nginx-vhosts");
  const conf = await writeNginxConf(prefix, httpBlock(port, ctx.backends.bluePort, count));
  const proc = await startNginx("nginx-vhosts", prefix, conf, ctx.tmp);
  await waitReady(proc, "nginx vhosts", () => canConnect(port));
  return {
    name: "nginx-1000",
    url: `http://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    hasSink: false,
    stop: () => stopProcess(proc),
  };
}
