/**
 * idle: teal with 1,000 services and no traffic for --idle-minutes, beside nginx with 1,000
 * virtual hosts (also idle, same period): RSS every 10 s and CPU % of one core over the period.
 * It runs alone, after every other scenario: nothing else loads the machine meanwhile.
 */
import type { BenchOptions } from "../args.ts";
import { startNginxVhosts } from "../candidates/nginxVhosts.ts";
import { SERVICE_COUNT, startTealServices } from "../candidates/tealServices.ts";
import type { Candidate, CandidateContext } from "../candidates/types.ts";
import { startCpuMeter } from "../cpu.ts";
import { toMb, treeRssBytes } from "../rss.ts";
import { log, round, sleep } from "../util.ts";
import type { ResultRow } from "./types.ts";

export const IDLE_SAMPLE_MS = 10_000;

interface Watched {
  c: Candidate;
  rssMb: number[];
  cpu: ReturnType<typeof startCpuMeter>;
}

const sample = (w: Watched) => w.rssMb.push(round(toMb(treeRssBytes(w.c.pids())), 1));

export async function idleScenario(ctx: CandidateContext, o: BenchOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const started: Candidate[] = [];
  try {
    for (const [name, start] of [
      ["teal-1000", () => startTealServices(ctx, "teal-1000-idle")],
      ["nginx-1000", () => startNginxVhosts(ctx)],
    ] as const) {
      try {
        const c = await start();
        started.push({ ...c, name });
      } catch (e) {
        rows.push({ scenario: "idle", name, error: (e as Error).message.split("\n")[0]! });
      }
    }
    const totalMs = o.idleMinutes * 60_000;
    // Short runs (tests, --idle-minutes 0.1) still get a handful of samples.
    const everyMs = Math.min(IDLE_SAMPLE_MS, Math.max(500, totalMs / 6));
    const watched: Watched[] = started.map((c) => ({ c, rssMb: [], cpu: startCpuMeter(c.pids()) }));
    watched.forEach(sample);
    log(
      `idle: ${started.map((c) => c.name).join(", ")} without traffic for ${o.idleMinutes} min, RSS every ${everyMs / 1000} s`,
    );
    const t0 = performance.now();
    const samples = Math.round(totalMs / everyMs);
    for (let i = 1; i <= samples; i++) {
      const wait = t0 + i * everyMs - performance.now();
      if (wait > 0) await sleep(wait);
      watched.forEach(sample);
      if (i % 6 === 0 || i === samples) {
        const now = watched.map((w) => `${w.c.name} ${w.rssMb.at(-1)} MiB`).join(", ");
        log(`idle: ${((performance.now() - t0) / 60_000).toFixed(1)} min: ${now}`);
      }
    }
    for (const w of watched) {
      rows.push({
        scenario: "idle",
        name: w.c.name,
        services: SERVICE_COUNT,
        minutes: round((performance.now() - t0) / 60_000, 2),
        startRssMb: w.rssMb[0],
        endRssMb: w.rssMb.at(-1),
        maxRssMb: Math.max(...w.rssMb),
        cpuPercent: round(w.cpu.percentOfCore(), 3),
        cpuSeconds: round(w.cpu.cpuSeconds(), 2),
        everyS: everyMs / 1000,
        rssMbSeries: w.rssMb,
      });
    }
    const ref = rows.find((r) => r.name === "nginx-1000" && !r.error);
    for (const r of rows) {
      if (!r.error && ref)
        r.maxRssRatioToNginx1000 = round((r.maxRssMb as number) / (ref.maxRssMb as number), 2);
    }
    return rows;
  } finally {
    for (const c of started) await c.stop();
  }
}
