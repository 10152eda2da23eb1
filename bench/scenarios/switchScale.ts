/**
 * switch-scale: teal with 1,000 services, with 1 and with 2 proxy workers. Switch random services
 * one at a time and time the switch call, and the first answer of the new color on a keep-alive
 * connection to that service's host that was open before the call.
 */
import type { BenchOptions } from "../args.ts";
import { type ManyServices, serviceHost, startTealServices } from "../candidates/tealServices.ts";
import type { CandidateContext, Color } from "../candidates/types.ts";
import { treeCpuSeconds } from "../cpu.ts";
import { oneConnectionAgent, probe } from "../keepAliveProbe.ts";
import { log, quantile, round } from "../util.ts";
import type { ResultRow } from "./types.ts";

export const SCALE_WORKERS = [1, 2] as const;
/** Probes of the new color after one switch: at most this many, and for at most this long. */
const MAX_PROBES = 5000;
const MAX_WAIT_MS = 5000;

interface Timed {
  switchMs: number;
  firstNewMs: number;
  probes: number;
  newConnection: boolean;
}

/** One switch of service `i` to `to`, timed; the connection to its host is opened first. */
async function timedSwitch(t: ManyServices, i: number, to: Color): Promise<Timed> {
  const agent = oneConnectionAgent();
  const host = serviceHost(i);
  try {
    const before = await probe(t.url, agent, host); // opens the keep-alive connection
    const t0 = performance.now();
    await t.switchService(i, to);
    const t1 = performance.now();
    for (let n = 1; n <= MAX_PROBES && performance.now() - t1 < MAX_WAIT_MS; n++) {
      const p = await probe(t.url, agent, host);
      if (p.color === to) {
        const firstNewMs = performance.now() - t1;
        return { switchMs: t1 - t0, firstNewMs, probes: n, newConnection: p.socket !== before.socket };
      }
    }
    throw new Error(`service ${i}: no answer of ${to} within ${MAX_WAIT_MS} ms after the switch returned`);
  } finally {
    agent.destroy();
  }
}

async function oneWorkerCount(ctx: CandidateContext, workers: number, switches: number): Promise<ResultRow> {
  const caseName = `${workers} worker${workers > 1 ? "s" : ""}`;
  const row: ResultRow = { scenario: "switch-scale", name: "teal-1000", case: caseName, workers };
  let t: ManyServices | undefined;
  try {
    t = await startTealServices(ctx, `teal-1000-w${workers}`, workers);
    const live = new Map<number, Color>(); // every service starts blue
    const done: Timed[] = [];
    let errors = 0;
    let firstError = "";
    const cpuBefore = treeCpuSeconds(t.pids());
    for (let k = 0; k < switches; k++) {
      const i = 1 + Math.floor(Math.random() * t.count);
      const to: Color = (live.get(i) ?? "blue") === "blue" ? "green" : "blue";
      try {
        done.push(await timedSwitch(t, i, to));
        live.set(i, to);
      } catch (e) {
        errors++;
        firstError ||= (e as Error).message;
      }
    }
    // The proxy tree's CPU over the loop (the switch calls and the probes around each), per switch.
    const cpuMsPerSwitch = ((treeCpuSeconds(t.pids()) - cpuBefore) * 1000) / Math.max(1, switches);
    const sw = done.map((d) => d.switchMs);
    const fn = done.map((d) => d.firstNewMs);
    Object.assign(row, {
      services: t.count,
      startSeconds: round(t.startMs / 1000, 1),
      switches: done.length,
      switchP50Ms: round(quantile(sw, 0.5), 2),
      switchP99Ms: round(quantile(sw, 0.99), 2),
      switchMaxMs: round(Math.max(...sw), 2),
      firstNewP50Ms: round(quantile(fn, 0.5), 2),
      firstNewP99Ms: round(quantile(fn, 0.99), 2),
      firstNewMaxMs: round(Math.max(...fn), 2),
      staleAnswers: done.reduce((a, d) => a + d.probes - 1, 0),
      newConnections: done.filter((d) => d.newConnection).length,
      cpuMsPerSwitch: round(cpuMsPerSwitch, 2),
      errors,
      ...(firstError ? { error: firstError } : {}),
    });
    log(
      `switch-scale: ${caseName}: switch p50 ${row.switchP50Ms} ms p99 ${row.switchP99Ms} ms; first new color p50 ${row.firstNewP50Ms} ms p99 ${row.firstNewP99Ms} ms; ${errors} errors`,
    );
  } catch (e) {
    row.error = (e as Error).message.split("\n")[0]!;
  } finally {
    await t?.stop();
  }
  return row;
}

/** No anchor: nginx or HAProxy with 1,000 vhosts would switch by reload or runtime API per service. */
export async function switchScale(ctx: CandidateContext, o: BenchOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const w of SCALE_WORKERS) {
    log(`switch-scale: teal with 1000 services, ${w} worker(s), ${o.scaleSwitches} switches`);
    rows.push(await oneWorkerCount(ctx, w, o.scaleSwitches));
  }
  return rows;
}
