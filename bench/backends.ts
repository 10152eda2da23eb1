import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { startNginx, writeNginxConf } from "./nginxBase.ts";
import { type Managed, startProcess, waitReady } from "./procs.ts";
import { BODY_100, canConnect, freePorts, repoRoot } from "./util.ts";

export interface Backends {
  bluePort: number;
  greenPort: number;
  sinkPort: number;
  procs: Managed[];
}

/** The big body of the body100k scenario: GET /100k answers 100 KiB from a file. */
export const BIG_PATH = "/100k";
export const BIG_BYTES = 100 * 1024;

function colorServer(port: number, color: string, bigFile: string): string {
  return `  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    location / {
      add_header X-Color ${color} always;
      return 200 "${BODY_100}\\n";
    }
    location = ${BIG_PATH} {
      add_header X-Color ${color} always;
      default_type application/octet-stream;
      alias ${bigFile};
    }
  }`;
}

/**
 * The shared backend: one nginx (1 worker) with a "blue" and a "green" server block, each answering
 * 200 with a 100-byte body and `X-Color` (and 100 KiB at /100k); plus a small Node sink for the memory scenario.
 */
export async function startBackends(tmp: string, withSink: boolean): Promise<Backends> {
  const [bluePort, greenPort, sinkPort] = await freePorts(3);
  const prefix = path.join(tmp, "backend");
  const bigFile = path.join(prefix, "100k.bin");
  await mkdir(prefix, { recursive: true });
  await writeFile(bigFile, Buffer.alloc(BIG_BYTES, 0x62));
  // 16384 connections: teal with 1,000 services keeps upstream connections per service.
  const conf = await writeNginxConf(
    prefix,
    `${colorServer(bluePort!, "blue", bigFile)}\n${colorServer(greenPort!, "green", bigFile)}`,
    16_384,
  );
  const nginx = await startNginx("backend-nginx", prefix, conf, tmp);
  const procs = [nginx];
  await waitReady(
    nginx,
    "backend nginx",
    async () => (await canConnect(bluePort!)) && canConnect(greenPort!),
  );
  if (withSink) {
    const script = path.join(repoRoot, "bench", "servers", "sink.ts");
    const sink = startProcess("sink", process.execPath, ["--import", "tsx", script, String(sinkPort)], {
      cwd: repoRoot,
      logDir: tmp,
    });
    procs.push(sink);
    await waitReady(sink, "sink", () => canConnect(sinkPort!));
  }
  return { bluePort: bluePort!, greenPort: greenPort!, sinkPort: sinkPort!, procs };
}
