import type { BenchOptions } from "../args.ts";
import type { Candidate } from "../candidates/types.ts";
import { ensureOpenFiles } from "../fdLimit.ts";
import { toMb, treeRssBytes } from "../rss.ts";
import { log, round, sleep } from "../util.ts";
import { runWrk } from "../wrk.ts";
import { openIdleConnections } from "./memoryIdle.ts";
import { mibPerSec, transfer, withRssPeak } from "./memoryTransfer.ts";
import type { ResultRow } from "./types.ts";

const mb = (bytes: number) => round(toMb(bytes), 1);
const LOAD_CONNECTIONS = 1000;

async function idleCase(c: Candidate, o: BenchOptions): Promise<ResultRow> {
  const caseName = `${o.idleConnections}-idle-keepalive`;
  ensureOpenFiles(o.idleConnections + 1024); // the client side of every idle connection is here
  const base = treeRssBytes(c.pids());
  const port = Number(new URL(c.url).port);
  const set = await openIdleConnections(port, o.idleConnections);
  try {
    await sleep(500); // let the proxy settle
    const rss = treeRssBytes(c.pids());
    const open = set.sockets.filter((s) => !set.closed.has(s)).length;
    log(`memory: ${c.name} ${caseName}: ${mb(rss)} MiB (baseline ${mb(base)}), ${open} open`);
    return {
      scenario: "memory",
      name: c.name,
      case: caseName,
      rssMb: mb(rss),
      baselineRssMb: mb(base),
      openConnections: open,
      ...(set.errors ? { connectErrors: set.errors, error: set.firstError } : {}),
    };
  } finally {
    set.close();
  }
}

/** Peak RSS (sampled every 100 ms) during a wrk -c1000 run of --duration. */
async function loadCase(c: Candidate, o: BenchOptions): Promise<ResultRow> {
  const caseName = `c${LOAD_CONNECTIONS}-load`;
  const base = treeRssBytes(c.pids());
  const [r, peak] = await withRssPeak(c.pids(), () =>
    runWrk({ url: `${c.url}/`, durationS: o.durationS, connections: LOAD_CONNECTIONS }),
  );
  log(
    `memory: ${c.name} ${caseName}: peak ${mb(peak)} MiB (baseline ${mb(base)}), ${r.rps.toFixed(0)} req/s`,
  );
  return {
    scenario: "memory",
    name: c.name,
    case: caseName,
    rssMb: mb(peak),
    baselineRssMb: mb(base),
    rps: round(r.rps, 0),
    errors: r.errors + r.non2xx,
  };
}

async function transferCase(c: Candidate, o: BenchOptions, kind: "upload" | "download"): Promise<ResultRow> {
  const label = o.transferMb === 1024 ? "1GB" : `${o.transferMb}MiB`;
  const caseName = `${kind}-${label}`;
  const base = treeRssBytes(c.pids());
  try {
    const r = await transfer(kind, c.url, c.pids(), Math.round(o.transferMb * 1024 * 1024));
    log(`memory: ${c.name} ${caseName}: peak ${mb(r.peakRssBytes)} MiB, ${mibPerSec(r).toFixed(0)} MiB/s`);
    return {
      scenario: "memory",
      name: c.name,
      case: caseName,
      rssMb: mb(r.peakRssBytes),
      baselineRssMb: mb(base),
      mbPerSec: round(mibPerSec(r), 1),
      seconds: round(r.seconds, 2),
    };
  } catch (e) {
    return { scenario: "memory", name: c.name, case: caseName, error: (e as Error).message };
  }
}

/**
 * Memory: RSS of the proxy process tree with idle keep-alive connections, under c=1000 load, and
 * (with `transfers`) during big transfers. Each case runs on a freshly started instance, so one
 * case's leftovers (and the throughput runs before) don't count against the next.
 */
export async function memory(
  start: () => Promise<Candidate>,
  o: BenchOptions,
  transfers: boolean,
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const fresh = async (run: (c: Candidate) => Promise<ResultRow>, caseName: string, name: string) => {
    let c: Candidate | undefined;
    try {
      c = await start();
      await sleep(300); // let start-up settle
      rows.push(await run(c));
    } catch (e) {
      rows.push({ scenario: "memory", name, case: caseName, error: (e as Error).message });
    } finally {
      await c?.stop();
    }
  };
  const probe = await start();
  const { name, hasSink } = probe;
  await probe.stop();
  await fresh((c) => idleCase(c, o), "idle-keepalive", name);
  await fresh((c) => loadCase(c, o), `c${LOAD_CONNECTIONS}-load`, name);
  if (!hasSink || !transfers) return rows;
  await fresh((c) => transferCase(c, o, "upload"), "upload", name);
  await fresh((c) => transferCase(c, o, "download"), "download", name);
  return rows;
}

/** rssRatioToNginx = rssMb / nginx's rssMb in the same case (null when nginx has none). */
export function addRssRatios(rows: ResultRow[]): void {
  for (const r of rows) {
    if (r.scenario !== "memory" || r.error) continue;
    const ref = rows.find(
      (n) => n.scenario === "memory" && n.name === "nginx" && n.case === r.case && !n.error,
    );
    r.rssRatioToNginx = ref ? round((r.rssMb as number) / (ref.rssMb as number), 2) : null;
  }
}
