import type { BenchOptions } from "../args.ts";
import type { Candidate } from "../candidates/types.ts";
import { toMb, treeRssBytes } from "../rss.ts";
import { log, round, sleep } from "../util.ts";
import { openIdleConnections } from "./memoryIdle.ts";
import { mibPerSec, transfer } from "./memoryTransfer.ts";
import type { ResultRow } from "./types.ts";

const mb = (bytes: number) => round(toMb(bytes), 1);

async function idleCase(c: Candidate, o: BenchOptions): Promise<ResultRow> {
  const caseName = `${o.idleConnections}-idle-keepalive`;
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
 * Memory: RSS of the proxy process tree with idle keep-alive connections, and during big
 * transfers. Each case runs on a freshly started instance, so one case's leftovers (and the
 * throughput runs before) don't count against the next.
 */
export async function memory(start: () => Promise<Candidate>, o: BenchOptions): Promise<ResultRow[]> {
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
  if (!hasSink) return rows;
  await fresh((c) => transferCase(c, o, "upload"), "upload", name);
  await fresh((c) => transferCase(c, o, "download"), "download", name);
  return rows;
}
