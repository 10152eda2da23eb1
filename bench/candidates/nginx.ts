import path from "node:path";
import { reloadNginx, startNginx, writeNginxConf } from "../nginxBase.ts";
import { stopProcess, waitReady } from "../procs.ts";
import { canConnect, freePort } from "../util.ts";
import type { CandidateFactory, Color } from "./types.ts";

function httpBlock(listen: number, upstreamPort: number, sinkPort: number): string {
  return `  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 100000;
  }
  upstream sink {
    server 127.0.0.1:${sinkPort};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${listen} backlog=4096;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /sink {
      proxy_pass http://sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      client_max_body_size 0;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }`;
}

/** nginx as a reverse proxy (1 worker, upstream keepalive 256); switch = rewrite conf + `nginx -s reload`. */
export const nginx: CandidateFactory = async ({ tmp, backends, opts }) => {
  const port = await freePort();
  const prefix = path.join(tmp, "nginx-proxy");
  const colorPort = (c: Color) => (c === "blue" ? backends.bluePort : backends.greenPort);
  // Room for the memory scenario's idle connections plus c=1000 load and its upstream connections.
  const workerConnections = Math.max(4096, opts.idleConnections + 2048);
  const write = (upstreamPort: number) =>
    writeNginxConf(prefix, httpBlock(port, upstreamPort, backends.sinkPort), workerConnections);
  let conf = await write(backends.bluePort);
  const proc = await startNginx("nginx-proxy", prefix, conf, tmp);
  await waitReady(proc, "nginx proxy", () => canConnect(port));
  return {
    name: "nginx",
    url: `http://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    hasSink: true,
    switchTo: async (color) => {
      conf = await write(colorPort(color));
      await reloadNginx(prefix, conf);
    },
    stop: () => stopProcess(proc),
  };
};
