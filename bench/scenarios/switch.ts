import type { BenchOptions } from "../args.ts";
import type { Candidate, Color } from "../candidates/types.ts";
import { log, round, sleep } from "../util.ts";
import { startWrk } from "../wrk.ts";
import type { ResultRow } from "./types.ts";

/**
 * A candidate's switches stop here even if fewer than asked were done (reloads are slow). teal,
 * the subject (1,000 switches with 0 errors expected), gets more room on a busy machine.
 */
export const SWITCH_BOUND_S = 30;
export const TEAL_SWITCH_BOUND_S = 120;
const boundS = (c: Candidate) => (c.name === "teal" ? TEAL_SWITCH_BOUND_S : SWITCH_BOUND_S);

interface Flips {
  ok: number;
  failed: string[];
  bounded: boolean;
}

/** Up to `count` blue<->green flips, at most one per `everyMs`, for at most `boundMs`. */
async function flipLoop(c: Candidate, count: number, everyMs: number, boundMs: number): Promise<Flips> {
  const start = performance.now();
  const flips: Flips = { ok: 0, failed: [], bounded: false };
  for (let i = 0; i < count; i++) {
    if (performance.now() - start > boundMs) {
      flips.bounded = true;
      break;
    }
    const wait = start + i * everyMs - performance.now();
    if (wait > 0) await sleep(wait);
    const to: Color = i % 2 === 0 ? "green" : "blue";
    try {
      await c.switchTo!(to);
      flips.ok++;
    } catch (e) {
      flips.failed.push((e as Error).message);
    }
  }
  return flips;
}

/**
 * Keep-alive load (wrk) while the live color flips `--switches` times through the candidate's
 * own mechanism; the load starts 0.5 s before the first switch and stops 0.5 s after the last.
 */
export async function switchUnderLoad(cands: Candidate[], o: BenchOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const c of cands) {
    if (!c.switchTo) continue;
    log(
      `switch: ${c.name}, ${o.switches} switches under load (at most one per ${o.switchEveryMs} ms, at most ${boundS(c)} s)`,
    );
    const load = startWrk({ url: `${c.url}/`, durationS: boundS(c) + 5, connections: o.connections });
    try {
      await sleep(500);
      const t0 = performance.now();
      const flips = await flipLoop(c, o.switches, o.switchEveryMs, boundS(c) * 1000);
      const seconds = (performance.now() - t0) / 1000;
      await sleep(500);
      const r = await load.stop();
      await c.switchTo("blue");
      rows.push({
        scenario: "switch",
        name: c.name,
        switches: flips.ok,
        asked: o.switches,
        seconds: round(seconds, 1),
        requests: r.requests,
        errors: r.errors,
        non2xx: r.non2xx,
        rps: round(r.rps, 0),
        ...(flips.bounded ? { note: `stopped after ${boundS(c)} s` } : {}),
        ...(flips.failed.length ? { switchFailures: flips.failed.length, error: flips.failed[0] } : {}),
      });
      log(
        `switch: ${c.name}: ${flips.ok} switches in ${seconds.toFixed(1)} s, ${r.errors} socket errors, ${r.non2xx} non-2xx of ${r.requests}`,
      );
    } catch (e) {
      await load.stop().catch(() => {});
      rows.push({ scenario: "switch", name: c.name, error: (e as Error).message });
    }
  }
  return rows;
}
