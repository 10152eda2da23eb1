import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { startProcess, stopProcess, waitReady } from "../procs.ts";
import { canConnect, freePort } from "../util.ts";
import { haproxyRaw, haproxySet } from "./haproxySocket.ts";
import type { CandidateFactory, Color } from "./types.ts";

const HAPROXY = "/usr/sbin/haproxy";

function config(
  prefix: string,
  port: number,
  p: { blue: number; green: number; sink: number; maxconn: number },
): string {
  return `global
  nbthread 1
  maxconn ${p.maxconn}
  stats socket ${path.join(prefix, "admin.sock")} level admin
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
frontend fe
  bind 127.0.0.1:${port}
  use_backend sink if { path_beg /sink }
  default_backend be
backend be
  balance roundrobin
  server blue 127.0.0.1:${p.blue}
  server green 127.0.0.1:${p.green}
backend sink
  server sink 127.0.0.1:${p.sink}
`;
}

/** HAProxy 2.6 (1 thread, http-reuse always); switch = runtime API drain/ready on the stats socket. */
export const haproxy: CandidateFactory = async ({ tmp, backends, opts }) => {
  const port = await freePort();
  const prefix = path.join(tmp, "haproxy");
  await mkdir(prefix, { recursive: true });
  const conf = path.join(prefix, "haproxy.cfg");
  const { bluePort: blue, greenPort: green, sinkPort: sink } = backends;
  // Room for the memory scenario's idle connections plus c=1000 load.
  const maxconn = Math.max(8000, opts.idleConnections + 2048);
  await writeFile(conf, config(prefix, port, { blue, green, sink, maxconn }));
  await promisify(execFile)(HAPROXY, ["-c", "-q", "-f", conf]);
  const proc = startProcess("haproxy", HAPROXY, ["-f", conf, "-db"], { cwd: prefix, logDir: tmp });
  const sock = path.join(prefix, "admin.sock");
  const flip = (to: Color) => {
    const from = to === "blue" ? "green" : "blue";
    return haproxySet(sock, [`set server be/${to} state ready`, `set server be/${from} state drain`]);
  };
  await waitReady(proc, "haproxy", () => canConnect(port));
  await waitReady(proc, "haproxy stats socket", async () =>
    (await haproxyRaw(sock, ["show info"])).includes("Name:"),
  );
  await flip("blue");
  return {
    name: "haproxy",
    url: `http://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    hasSink: true,
    switchTo: flip,
    stop: () => stopProcess(proc),
  };
};
