/**
 * services1000: teal with 1,000 services (Host sN.bench) under a random Host mix, against nginx
 * with 1,000 server blocks, beside teal and nginx with one service, all in the same run.
 */
import path from "node:path";
import type { BenchOptions } from "../args.ts";
import { startNginxVhosts } from "../candidates/nginxVhosts.ts";
import { SERVICE_COUNT, serviceHost, startTealServices } from "../candidates/tealServices.ts";
import type { Candidate, CandidateContext } from "../candidates/types.ts";
import { writeHostMix } from "../hostMix.ts";
import { log, round } from "../util.ts";
import { throughput } from "./throughput.ts";
import type { ResultRow } from "./types.ts";

/** Targets of issue 19: teal-1000 keeps >= 0.85x its one-service rps, and p99 <= 2x nginx-1000's. */
export const TARGET_RPS_RATIO = 0.85;
export const TARGET_P99_RATIO = 2;

/**
 * `singles` are the shared teal and nginx candidates (one service each; either may be missing).
 * Every candidate gets the same wrk Lua script shape (one random pick per request): the single
 * ones from a list of one host, the 1,000-service ones from sN.bench.
 */
export async function manyServices(
  ctx: CandidateContext,
  singles: Candidate[],
  o: BenchOptions,
): Promise<ResultRow[]> {
  const started: Candidate[] = [];
  const rows: ResultRow[] = [];
  try {
    for (const [name, start] of [
      ["teal-1000", () => startTealServices(ctx, "teal-1000")],
      ["nginx-1000", () => startNginxVhosts(ctx)],
    ] as const) {
      try {
        log(`services1000: starting ${name}`);
        started.push(await start());
      } catch (e) {
        rows.push({ scenario: "services1000", name, error: (e as Error).message.split("\n")[0]! });
      }
    }
    const hosts = Array.from({ length: SERVICE_COUNT }, (_, i) => serviceHost(i + 1));
    const mix = await writeHostMix(path.join(ctx.tmp, "host-mix-1000.lua"), hosts);
    const one = await writeHostMix(path.join(ctx.tmp, "host-mix-1.lua"), ["bench.local"]);
    const cands = [...singles, ...started];
    const measured = await throughput(cands, {
      scenario: "services1000",
      connections: o.connections,
      runs: o.runs,
      warmupS: o.warmupS,
      durationS: o.durationS,
      wrk: (c) => ({ script: started.includes(c) ? mix : one }),
      anchors: ["teal", "nginx-1000"],
    });
    const nginx1000 = measured.find((r) => r.name === "nginx-1000" && !r.error);
    for (const r of measured) {
      r.services = started.some((c) => c.name === r.name) ? SERVICE_COUNT : 1;
      if (r.error || !nginx1000) continue;
      r.p99RatioToNginx1000 = round((r.p99Ms as number) / (nginx1000.p99Ms as number), 3);
    }
    const t = measured.find((r) => r.name === "teal-1000" && !r.error);
    if (t) {
      t.targets = `rps >= ${TARGET_RPS_RATIO}x teal: ${ok(t.ratioToTeal, (x) => x >= TARGET_RPS_RATIO)}; p99 <= ${TARGET_P99_RATIO}x nginx-1000: ${ok(t.p99RatioToNginx1000, (x) => x <= TARGET_P99_RATIO)}`;
      log(`services1000: ${t.targets}`);
    }
    rows.push(...measured);
    return rows;
  } finally {
    for (const c of started) await c.stop();
  }
}

const ok = (v: unknown, pass: (x: number) => boolean) =>
  typeof v === "number" ? (pass(v) ? `met (${v})` : `missed (${v})`) : "not measured";
