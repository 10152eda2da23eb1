import type { BenchOptions } from "../args.ts";
import type { Candidate } from "../candidates/types.ts";
import { startCpuMeter } from "../cpu.ts";
import { log, median, round } from "../util.ts";
import { runWrk, type WrkOptions, type WrkResult } from "../wrk.ts";
import type { ResultRow } from "./types.ts";

/** One load run of a candidate, with the CPU its process tree used over it. */
interface Run extends WrkResult {
  cpuUsPerReq: number | null;
}

/** What one throughput-like scenario loads its candidates with. */
export interface LoadSpec {
  scenario: string;
  connections: number;
  runs: number;
  warmupS: number;
  durationS: number;
  /** Request path (default "/"). */
  path?: string;
  /** Per-candidate extras for wrk (a Host-mix script, headers). */
  wrk?: (c: Candidate) => Partial<WrkOptions>;
  /** Reference names for ratios, in column order (default direct, nginx). */
  anchors?: string[];
}

/** The spec of the classic throughput scenario: --connections, --runs, --warmup, --duration. */
export const throughputSpec = (o: BenchOptions): LoadSpec => ({
  scenario: "throughput",
  connections: o.connections,
  runs: o.runs,
  warmupS: o.warmupS,
  durationS: o.durationS,
});

async function measured(c: Candidate, spec: LoadSpec, durationS: number): Promise<Run> {
  const cpu = startCpuMeter(c.pids());
  const r = await runWrk({
    url: `${c.url}${spec.path ?? "/"}`,
    durationS,
    connections: spec.connections,
    ...spec.wrk?.(c),
  });
  return { ...r, cpuUsPerReq: cpu.perRequestUs(r.requests) };
}

/**
 * wrk -t1 -cN -dS --latency against each candidate, `runs` times, interleaved (run 1 of every
 * candidate, then run 2, ...) so slow drift of the machine hits all alike.
 */
export async function throughput(cands: Candidate[], spec: LoadSpec): Promise<ResultRow[]> {
  const results = new Map<string, Run[]>();
  const failures = new Map<string, string>();
  const label = spec.scenario;
  if (spec.warmupS > 0) {
    for (const c of cands) {
      log(`${label}: warm-up ${c.name} (${spec.warmupS}s)`);
      await measured(c, spec, spec.warmupS).catch((e: Error) => failures.set(c.name, e.message));
    }
  }
  for (let run = 1; run <= spec.runs; run++) {
    for (const c of cands) {
      if (failures.has(c.name)) continue;
      try {
        const r = await measured(c, spec, spec.durationS);
        const cpu = r.cpuUsPerReq === null ? "" : `, ${r.cpuUsPerReq.toFixed(0)} us CPU/req`;
        log(
          `${label}: ${c.name} run ${run}/${spec.runs}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, ${r.errors + r.non2xx} errors${cpu}`,
        );
        results.set(c.name, [...(results.get(c.name) ?? []), r]);
      } catch (e) {
        failures.set(c.name, (e as Error).message);
        log(`${label}: ${c.name} failed: ${(e as Error).message}`);
      }
    }
  }
  const rows = cands.map((c) => summarize(label, c.name, results.get(c.name) ?? [], failures.get(c.name)));
  addRatios(rows, spec.anchors ?? ["direct", "nginx"]);
  return rows;
}

const ratioKey = (anchor: string) =>
  `ratioTo${anchor.replace(/(^|-)([a-z0-9])/g, (_, _d: string, ch: string) => ch.toUpperCase())}`;

/** ratioTo<Anchor> = rps / the anchor's rps (null when the anchor has no result in this run). */
export function addRatios(rows: ResultRow[], anchors: string[]): void {
  for (const a of anchors) {
    const ref = rows.find((r) => r.name === a && !r.error)?.rps as number | undefined;
    for (const r of rows) {
      if (!r.error) r[ratioKey(a)] = ref ? round((r.rps as number) / ref, 3) : null;
    }
  }
}

function summarize(scenario: string, name: string, rs: Run[], error?: string): ResultRow {
  if (rs.length === 0) return { scenario, name, error: error ?? "no runs" };
  const cpu = rs.map((r) => r.cpuUsPerReq).filter((x): x is number => x !== null);
  return {
    scenario,
    name,
    rps: round(median(rs.map((r) => r.rps)), 0),
    p50Ms: round(median(rs.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(rs.map((r) => r.p99Ms)), 3),
    // errors = socket errors + non-2xx/3xx, summed over all runs (a single bad run must not hide)
    errors: rs.reduce((a, r) => a + r.errors + r.non2xx, 0),
    cpuUsPerReq: cpu.length ? round(median(cpu), 1) : null,
    runs: rs.length,
    rpsPerRun: rs.map((r) => round(r.rps, 0)),
    ...(error ? { error } : {}),
  };
}

/** The proxies the c1000 and body100k scenarios load (the routed teal forms are nginx and HAProxy). */
export const PEERS = ["direct", "teal", "nginx", "haproxy", "http-proxy"];

/** c1000: one wrk -c1000 run of --duration per proxy, after a warm-up at the same concurrency. */
export const c1000Spec = (o: BenchOptions): LoadSpec => ({
  scenario: "c1000",
  connections: 1000,
  runs: 1,
  warmupS: o.warmupS,
  durationS: o.durationS,
});

/** body100k: one wrk run of --duration per proxy fetching the backend's 100 KiB file. */
export const body100kSpec = (o: BenchOptions, path: string): LoadSpec => ({
  scenario: "body100k",
  connections: o.connections,
  runs: 1,
  warmupS: Math.min(o.warmupS, 1),
  durationS: o.durationS,
  path,
});
