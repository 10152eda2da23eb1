import type { BenchOptions } from "../args.ts";
import type { Candidate, Color } from "../candidates/types.ts";
import { log, round, sleep } from "../util.ts";
import { runWrk } from "../wrk.ts";
import type { ResultRow } from "./types.ts";

/** Flip blue<->green every `everyMs` for `durationMs` (bounded count); returns [ok, failed]. */
async function flipLoop(c: Candidate, durationMs: number, everyMs: number): Promise<[number, string[]]> {
  const count = Math.floor(durationMs / everyMs);
  const start = performance.now();
  let ok = 0;
  const failed: string[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i + 0.5) * everyMs - performance.now();
    if (wait > 0) await sleep(wait);
    const to: Color = i % 2 === 0 ? "green" : "blue";
    try {
      await c.switchTo!(to);
      ok++;
    } catch (e) {
      failed.push((e as Error).message);
    }
  }
  return [ok, failed];
}

/** Keep-alive load (wrk) while the live color flips through the candidate's own mechanism. */
export async function switchUnderLoad(cands: Candidate[], o: BenchOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const c of cands) {
    if (!c.switchTo) continue;
    log(`switch: ${c.name}, ${o.durationS}s of load, a switch every ${o.switchEveryMs} ms`);
    try {
      const load = runWrk({ url: `${c.url}/`, durationS: o.durationS, connections: o.connections });
      const flips = flipLoop(c, o.durationS * 1000, o.switchEveryMs);
      const [r, [switches, failed]] = await Promise.all([load, flips]);
      await c.switchTo("blue");
      rows.push({
        scenario: "switch",
        name: c.name,
        switches,
        errors: r.errors,
        non2xx: r.non2xx,
        rps: round(r.rps, 0),
        ...(failed.length ? { switchFailures: failed.length, error: failed[0] } : {}),
      });
      log(`switch: ${c.name}: ${switches} switches, ${r.errors} socket errors, ${r.non2xx} non-2xx`);
    } catch (e) {
      rows.push({ scenario: "switch", name: c.name, error: (e as Error).message });
    }
  }
  return rows;
}
