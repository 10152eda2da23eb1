import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { BenchOptions } from "../args.ts";
import type { Backends } from "../backends.ts";
import { buildTeal, startTealServer } from "../candidates/teal.ts";
import type { Candidate } from "../candidates/types.ts";
import { startCpuMeter } from "../cpu.ts";
import { startNginx, writeNginxConf } from "../nginxBase.ts";
import { stopProcess, waitReady } from "../procs.ts";
import { canConnect, freePorts, log, median, round } from "../util.ts";
import { switchUnderLoad } from "./switch.ts";
import { addRatios, throughput } from "./throughput.ts";
import { runH2load } from "./tlsH2load.ts";
import type { ResultRow } from "./types.ts";

const run = promisify(execFile);
/** h2load: each of the 50 connections keeps this many streams in flight. */
const H2_STREAMS = 10;

/**
 * HTTPS: teal's proxy.tls listener against nginx (`listen ssl http2`, 1 worker, upstream keepalive),
 * both with the same P-256 certificate and the same backend, c=50: HTTP/1.1 keep-alive (wrk),
 * HTTP/2 (h2load), new TLS handshakes per second (wrk with `Connection: close`: one handshake per
 * request), and teal's switch scenario over TLS. Each load runs `--runs` times, interleaved.
 */
export async function tlsScenario(tmp: string, backends: Backends, o: BenchOptions): Promise<ResultRow[]> {
  const dir = path.join(tmp, "tls");
  await mkdir(dir, { recursive: true });
  const cert = path.join(dir, "bench.pem");
  const key = path.join(dir, "bench.key");
  await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=bench.test"],
    ...["-addext", "subjectAltName=DNS:bench.test,IP:127.0.0.1"],
  ]);
  const cands = [await startTeal(dir, cert, key, backends, o), await startNginxTls(dir, cert, key, backends)];
  try {
    const rows: ResultRow[] = [];
    const spec = { connections: 50, runs: o.runs, warmupS: Math.min(o.warmupS, 2), durationS: o.durationS };
    rows.push(...(await throughput(cands, { ...spec, scenario: "tls-http1", anchors: ["nginx"] })));
    rows.push(...(await h2(cands, spec.runs, spec.durationS, dir)));
    rows.push(
      ...(await throughput(cands, {
        ...spec,
        scenario: "tls-handshakes",
        anchors: ["nginx"],
        wrk: () => ({ headers: { Connection: "close" } }),
      })),
    );
    const switched = await switchUnderLoad([cands[0]!], o);
    rows.push(...switched.map((r) => ({ ...r, scenario: "tls-switch" })));
    return rows;
  } finally {
    for (const c of cands) await c.stop();
  }
}

/** h2load against each candidate, `runs` times interleaved: medians of rps and p99, errors summed. */
async function h2(cands: Candidate[], runs: number, durationS: number, dir: string): Promise<ResultRow[]> {
  const results = new Map<
    string,
    { rps: number; p50Ms: number; p99Ms: number; errors: number; cpu: number | null }[]
  >();
  for (let i = 1; i <= runs; i++) {
    for (const c of cands) {
      const cpu = startCpuMeter(c.pids());
      const r = await runH2load(
        `${c.url}/`,
        50,
        H2_STREAMS,
        durationS,
        path.join(dir, `h2load-${c.name}.log`),
      );
      const cpuUs = cpu.perRequestUs(r.requests);
      log(
        `tls-h2: ${c.name} run ${i}/${runs}: ${r.rps.toFixed(0)} req/s over ${r.protocol}, p99 ${r.p99Ms.toFixed(2)} ms, ${r.errors} errors`,
      );
      results.set(c.name, [...(results.get(c.name) ?? []), { ...r, cpu: cpuUs }]);
    }
  }
  const rows: ResultRow[] = cands.map((c) => {
    const rs = results.get(c.name) ?? [];
    const cpu = rs.map((r) => r.cpu).filter((x): x is number => x !== null);
    return {
      scenario: "tls-h2",
      name: c.name,
      rps: round(median(rs.map((r) => r.rps)), 0),
      p50Ms: round(median(rs.map((r) => r.p50Ms)), 3),
      p99Ms: round(median(rs.map((r) => r.p99Ms)), 3),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      cpuUsPerReq: cpu.length ? round(median(cpu), 1) : null,
      runs: rs.length,
      rpsPerRun: rs.map((r) => round(r.rps, 0)),
    };
  });
  addRatios(rows, ["nginx"]);
  return rows;
}

async function startTeal(
  dir: string,
  cert: string,
  key: string,
  b: Backends,
  o: BenchOptions,
): Promise<Candidate> {
  buildTeal();
  const [proxy, tls, admin] = await freePorts(3);
  const dataDir = path.join(dir, "teal-data");
  await mkdir(dataDir, { recursive: true });
  const config = path.join(dir, "teal.yaml");
  await writeFile(
    config,
    `proxy:
  listen: 127.0.0.1:${proxy}
  workers: ${o.tealWorkers ?? "auto"}
  accessLog: ${o.accessLog}
  tls:
    listen: 127.0.0.1:${tls}
    certificates:
      - { cert: ${cert}, key: ${key} }
admin:
  listen: 127.0.0.1:${admin}
services:
  bench:
    routes:
      - path: /
    blue: ["http://127.0.0.1:${b.bluePort}"]
    green: ["http://127.0.0.1:${b.greenPort}"]
`,
  );
  const server = await startTealServer("teal-tls", config, dataDir, admin!, dir);
  await waitReady(server.proc, "teal TLS listener", () => canConnect(tls!));
  return {
    name: "teal",
    url: `https://127.0.0.1:${tls}`,
    pids: () => [server.proc.pid],
    hasSink: false,
    switchTo: server.switchTo,
    stop: () => stopProcess(server.proc),
  };
}

async function startNginxTls(dir: string, cert: string, key: string, b: Backends): Promise<Candidate> {
  const [port] = await freePorts(1);
  const prefix = path.join(dir, "nginx");
  const conf = await writeNginxConf(
    prefix,
    `  upstream app {
    server 127.0.0.1:${b.bluePort};
    keepalive 256;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port} ssl http2 backlog=4096;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
  const proc = await startNginx("nginx-tls", prefix, conf, dir);
  await waitReady(proc, "nginx TLS", () => canConnect(port!));
  return {
    name: "nginx",
    url: `https://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    hasSink: false,
    stop: () => stopProcess(proc),
  };
}
