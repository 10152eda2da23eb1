import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { quantile } from "../util.ts";

/** One h2load run's figures; p99 comes from its per-request log (h2load prints no percentiles). */
export interface H2loadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** failed + errored + timeout requests, and answers outside 2xx/3xx. */
  errors: number;
  protocol: string;
}

/**
 * h2load (Debian's nghttp2-client) over HTTP/2 with TLS: `connections` clients, each keeping
 * `streams` requests in flight on its one connection, for `durationS` after a 1 s warm-up.
 */
export async function runH2load(
  url: string,
  connections: number,
  streams: number,
  durationS: number,
  logFile: string,
): Promise<H2loadResult> {
  const args = [
    "-t1",
    `-c${connections}`,
    `-m${streams}`,
    "--warm-up-time=1",
    `-D${durationS}`,
    "--log-file",
    logFile,
    url,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (c: Buffer) => (text += c));
    child.stderr.on("data", (c: Buffer) => (text += c));
    const bound = setTimeout(() => child.kill("SIGKILL"), (durationS + 30) * 1000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(bound);
      resolve(text);
    });
  });
  const rps = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const reqs =
    /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!rps || !reqs || !codes) throw new Error(`could not parse h2load output:\n${out.slice(-800)}`);
  const durationsMs = (await readFile(logFile, "utf8"))
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => Number(l.split("\t")[2]) / 1000);
  await rm(logFile, { force: true });
  return {
    rps: Number(rps[1]),
    p50Ms: quantile(durationsMs, 0.5),
    p99Ms: quantile(durationsMs, 0.99),
    requests: Number(reqs[1]),
    errors: Number(reqs[3]) + Number(reqs[4]) + Number(reqs[5]) + Number(codes[3]) + Number(codes[4]),
    protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? "?",
  };
}
