import type { BenchOptions } from "../args.ts";
import type { Candidate } from "../candidates/types.ts";
import { log, median, round } from "../util.ts";
import { runWrk, type WrkResult } from "../wrk.ts";
import type { ResultRow } from "./types.ts";

/**
 * Throughput: wrk -t1 -cN -dS --latency against each candidate, `runs` times, interleaved
 * (run 1 of every candidate, then run 2, ...) so slow drift of the machine hits all alike.
 */
export async function throughput(cands: Candidate[], o: BenchOptions): Promise<ResultRow[]> {
  const results = new Map<string, WrkResult[]>();
  const failures = new Map<string, string>();
  const wrk = (c: Candidate, durationS: number) =>
    runWrk({ url: `${c.url}/`, durationS, connections: o.connections });
  if (o.warmupS > 0) {
    for (const c of cands) {
      log(`throughput: warm-up ${c.name} (${o.warmupS}s)`);
      await wrk(c, o.warmupS).catch((e: Error) => failures.set(c.name, e.message));
    }
  }
  for (let run = 1; run <= o.runs; run++) {
    for (const c of cands) {
      if (failures.has(c.name)) continue;
      try {
        const r = await wrk(c, o.durationS);
        log(
          `throughput: ${c.name} run ${run}/${o.runs}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`,
        );
        results.set(c.name, [...(results.get(c.name) ?? []), r]);
      } catch (e) {
        failures.set(c.name, (e as Error).message);
        log(`throughput: ${c.name} failed: ${(e as Error).message}`);
      }
    }
  }
  const rows = cands.map((c) => summarize(c.name, results.get(c.name) ?? [], failures.get(c.name)));
  const ref = (name: string) => rows.find((r) => r.name === name && !r.error)?.rps as number | undefined;
  const direct = ref("direct");
  const nginx = ref("nginx");
  for (const r of rows) {
    if (r.error) continue;
    r.ratioToDirect = direct ? round((r.rps as number) / direct, 3) : null;
    r.ratioToNginx = nginx ? round((r.rps as number) / nginx, 3) : null;
  }
  return rows;
}

function summarize(name: string, rs: WrkResult[], error?: string): ResultRow {
  if (rs.length === 0) return { scenario: "throughput", name, error: error ?? "no runs" };
  return {
    scenario: "throughput",
    name,
    rps: round(median(rs.map((r) => r.rps)), 0),
    p50Ms: round(median(rs.map((r) => r.p50Ms)), 3),
    p99Ms: round(median(rs.map((r) => r.p99Ms)), 3),
    // errors = socket errors + non-2xx/3xx, summed over all runs (a single bad run must not hide)
    errors: rs.reduce((a, r) => a + r.errors + r.non2xx, 0),
    ratioToDirect: null,
    ratioToNginx: null,
    runs: rs.length,
    rpsPerRun: rs.map((r) => round(r.rps, 0)),
    ...(error ? { error } : {}),
  };
}
