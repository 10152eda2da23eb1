import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { onStopAll } from "./procs.ts";

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** socket errors: connect + read + write + timeout */
  errors: number;
  non2xx: number;
  requests: number;
  raw: string;
}

export interface WrkOptions {
  url: string;
  durationS: number;
  connections: number;
  threads?: number;
  /** Extra request headers, e.g. { Host: "a.bench" } to reach one route of the proxy. */
  headers?: Record<string, string>;
  /** A wrk Lua script (`-s`): hostMix.ts's random Host per request, or thinkTimeScript(ms). */
  script?: string;
}

/**
 * A wrk script that waits `ms` after each answer before a connection sends its next request:
 * load at a steady, bounded rate (connections / (latency + ms)) instead of as fast as the machine
 * allows, where a closed loop saturates every core and the host's queueing swamps what is measured.
 */
export function thinkTimeScript(dir: string, ms: number): string {
  const file = path.join(dir, `think-${ms}ms.lua`);
  writeFileSync(file, `function delay()\n  return ${ms}\nend\n`);
  return file;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const f = UNIT_MS[unit];
  if (f === undefined) throw new Error(`unknown wrk time unit ${unit}`);
  return Number(value) * f;
}

/** Parse wrk 4.x output (run with --latency). */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`could not parse wrk output:\n${out}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const reqs = /(\d+) requests in/.exec(out);
  return {
    rps: Number(rps[1]),
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    errors,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    requests: reqs ? Number(reqs[1]) : 0,
    raw: out,
  };
}

/** A wrk run in progress: `stop()` ends it early (SIGINT: wrk then prints its usual report). */
export interface WrkRun {
  result: Promise<WrkResult>;
  stop: () => Promise<WrkResult>;
}

/**
 * Start wrk; it stops by itself after `durationS` (plus a hard kill as a bound), or earlier on
 * `stop()`. Its Requests/sec is over the time it really ran.
 */
export function startWrk(o: WrkOptions): WrkRun {
  const args = [
    `-t${o.threads ?? 1}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    "--latency",
    "-H",
    "Connection: keep-alive",
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    ...(o.script ? ["-s", o.script] : []),
    o.url,
  ];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  const result = new Promise<WrkResult>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const hardStop = setTimeout(() => child.kill("SIGKILL"), (o.durationS + 30) * 1000);
    const onSignal = () => child.kill("SIGKILL");
    process.once("exit", onSignal);
    const unhook = onStopAll(onSignal); // the bench is interrupted: no load on what it stops
    child.once("error", (e) => {
      clearTimeout(hardStop);
      process.off("exit", onSignal);
      unhook();
      reject(e);
    });
    child.once("close", (code) => {
      clearTimeout(hardStop);
      process.off("exit", onSignal);
      unhook();
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${err || out}`));
      try {
        resolve(parseWrk(out));
      } catch (e) {
        reject(e);
      }
    });
  });
  result.catch(() => {}); // handled by whoever awaits it; a run that is stopped later must not crash the bench
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    return result;
  };
  return { result, stop };
}

/** Run wrk once; it stops by itself after `durationS` (plus a hard kill as a bound). */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  return startWrk(o).result;
}
