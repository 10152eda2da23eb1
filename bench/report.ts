import os from "node:os";
import type { BenchOptions } from "./args.ts";
import type { ResultRow } from "./scenarios/types.ts";

type Col = [header: string, key: string];

/** The columns of every wrk load table (throughput, c1000, body100k). */
const LOAD_COLS: Col[] = [
  ["name", "name"],
  ["rps", "rps"],
  ["p50 ms", "p50Ms"],
  ["p99 ms", "p99Ms"],
  ["errors", "errors"],
  ["CPU us/req", "cpuUsPerReq"],
  ["ratioToDirect", "ratioToDirect"],
  ["ratioToNginx", "ratioToNginx"],
];

/** The columns of the HTTPS load tables (teal against nginx). */
const TLS_COLS: Col[] = [
  ["name", "name"],
  ["rps", "rps"],
  ["p50 ms", "p50Ms"],
  ["p99 ms", "p99Ms"],
  ["errors", "errors"],
  ["CPU us/req", "cpuUsPerReq"],
  ["ratioToNginx", "ratioToNginx"],
];

const TABLES: {
  scenario: string;
  title: string;
  cols: Col[];
  /** A line under the table for a row (targets met or missed, a bound that stopped it). */
  notes?: (r: ResultRow) => string | undefined;
}[] = [
  {
    scenario: "throughput",
    title: "Throughput (medians of the runs; errors = socket errors + non-2xx, summed over runs)",
    cols: LOAD_COLS,
  },
  {
    scenario: "c1000",
    title:
      "1,000 connections (wrk -c1000, one run each; CPU us/req = utime+stime of the proxy's process tree / requests)",
    cols: LOAD_COLS,
  },
  {
    scenario: "body100k",
    title: "100 KiB answers (GET /100k from the backend nginx, one run each)",
    cols: LOAD_COLS,
  },
  {
    scenario: "services1000",
    title:
      "1,000 services (wrk with a random Host of sN.bench per request; the one-service rows get the same script with one host; targets: teal-1000 >= 0.85x teal, p99 <= 2x nginx-1000)",
    cols: [
      ["name", "name"],
      ["services", "services"],
      ["rps", "rps"],
      ["p50 ms", "p50Ms"],
      ["p99 ms", "p99Ms"],
      ["errors", "errors"],
      ["CPU us/req", "cpuUsPerReq"],
      ["ratioToTeal", "ratioToTeal"],
      ["ratioToNginx1000", "ratioToNginx1000"],
      ["p99/nginx-1000", "p99RatioToNginx1000"],
    ],
    notes: (r) => (r.targets ? `${r.name}: ${r.targets}` : undefined),
  },
  {
    scenario: "switch",
    title:
      "Switch under load (blue<->green flips during one wrk run; a peer stops after 30 s, teal after 120 s)",
    cols: [
      ["name", "name"],
      ["switches", "switches"],
      ["asked", "asked"],
      ["seconds", "seconds"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
    notes: (r) => (r.note ? `${r.name}: ${r.note}` : undefined),
  },
  {
    scenario: "tls-http1",
    title:
      "HTTPS, HTTP/1.1 keep-alive (wrk -c50 over TLS; teal's proxy.tls and nginx with the same certificate; medians of the runs; target >= 0.5x nginx, p99 <= 2x)",
    cols: TLS_COLS,
  },
  {
    scenario: "tls-h2",
    title: "HTTPS, HTTP/2 (h2load -c50 -m10; p50/p99 from its per-request log; medians of the runs)",
    cols: TLS_COLS,
  },
  {
    scenario: "tls-handshakes",
    title:
      "New TLS handshakes per second (wrk -c50 with Connection: close: one full handshake per request; rps = handshakes/s)",
    cols: TLS_COLS,
  },
  {
    scenario: "tls-switch",
    title: "Switch under load over TLS (teal only; wrk -c50 to the HTTPS listener while blue<->green flip)",
    cols: [
      ["name", "name"],
      ["switches", "switches"],
      ["asked", "asked"],
      ["seconds", "seconds"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "switch-visibility",
    title: "Switch visibility (one request on an open keep-alive connection right after the switch call)",
    cols: [
      ["name", "name"],
      ["switches", "switches"],
      ["sawNewColor", "sawNewColor"],
      ["p50 ms", "p50Ms"],
      ["max ms", "maxMs"],
      ["errors", "errors"],
      ["newConns", "newConnections"],
    ],
  },
  {
    scenario: "switch-scale",
    title:
      "Switch at scale (teal with 1,000 services; random services one at a time; first new = switch call's return -> first answer of the new color on a keep-alive connection opened before the call; no anchor)",
    cols: [
      ["name", "name"],
      ["case", "case"],
      ["switches", "switches"],
      ["switch p50", "switchP50Ms"],
      ["switch p99", "switchP99Ms"],
      ["switch max", "switchMaxMs"],
      ["first new p50", "firstNewP50Ms"],
      ["first new p99", "firstNewP99Ms"],
      ["first new max", "firstNewMaxMs"],
      ["CPU ms/switch", "cpuMsPerSwitch"],
      ["stale", "staleAnswers"],
      ["newConns", "newConnections"],
      ["errors", "errors"],
    ],
  },
  {
    scenario: "memory",
    title:
      "Memory (RSS of the proxy process tree, MiB; c1000-load and transfers: peak while running, sampled every 100 ms)",
    cols: [
      ["name", "name"],
      ["case", "case"],
      ["rssMb", "rssMb"],
      ["baselineMb", "baselineRssMb"],
      ["ratioToNginx", "rssRatioToNginx"],
      ["open", "openConnections"],
      ["rps", "rps"],
      ["errors", "errors"],
      ["MiB/s", "mbPerSec"],
    ],
  },
  {
    scenario: "deploy",
    title:
      "Deploys under load (teal only: no peer here deploys processes, so no anchor; wrk across N back-to-back deploys; ms = record startedAt -> finishedAt)",
    cols: [
      ["name", "name"],
      ["deploys", "deploys"],
      ["succeeded", "succeeded"],
      ["p50 ms", "p50Ms"],
      ["max ms", "maxMs"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "deploy-rollback",
    title:
      "Instant rollback under load (teal only; ms = POST /rollback -> first answer of the old version through the proxy)",
    cols: [
      ["name", "name"],
      ["rollbacks", "rollbacks"],
      ["instant", "instant"],
      ["p50 ms", "p50Ms"],
      ["max ms", "maxMs"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "deploy-recovery",
    title:
      "Recovery after kill -9 (teal only; ms from the restart's spawn; samePids = restarts that re-adopted the same instances)",
    cols: [
      ["name", "name"],
      ["restarts", "restarts"],
      ["listening p50", "listeningP50Ms"],
      ["listening max", "listeningMaxMs"],
      ["first 200 p50", "firstOkP50Ms"],
      ["first 200 max", "firstOkMaxMs"],
      ["samePids", "samePids"],
    ],
  },
  {
    scenario: "analysis",
    title:
      "Canary analysis under load (teal only; N deployments per kind, 5 kinds side by side in one teal; toStable = the app's first bad answer -> the rollback's switch back; failed = non-2xx + socket errors seen by that service's wrk during its deployments)",
    cols: [
      ["form", "name"],
      ["kind", "case"],
      ["expect", "expect"],
      ["deploys", "deployments"],
      ["rolled back", "rolledBack"],
      ["before bad", "rolledBackBeforeBad"],
      ["inconclusive", "inconclusiveWaits"],
      ["by check", "byCheck"],
      ["toStable p50", "toStableP50Ms"],
      ["toStable max", "toStableMaxMs"],
      ["failed", "failedRequests"],
      ["failed/dep p50", "failedP50"],
      ["failed/dep max", "failedMax"],
      ["requests", "requests"],
      ["client p99", "clientP99Ms"],
    ],
  },
  {
    scenario: "migrate-backfill",
    title:
      "Backfill of a column on a table of N rows while one connection of the old version inserts and updates without pause (teal only; naive = ALTER TABLE ADD COLUMN + one UPDATE; writer = that connection's writes during the migration)",
    cols: [
      ["way", "name"],
      ["run", "run"],
      ["rows", "rows"],
      ["seconds", "seconds"],
      ["rows/s", "rowsPerSec"],
      ["writes", "writes"],
      ["failed", "failedWrites"],
      ["p50 ms", "p50Ms"],
      ["p99 ms", "p99Ms"],
      ["max ms", "maxMs"],
    ],
  },
  {
    scenario: "deploy-stores",
    title:
      "The same deploys on each store (teal; wrk across N back-to-back deploys; ms = record startedAt -> finishedAt)",
    cols: [
      ["store", "name"],
      ["deploys", "deploys"],
      ["succeeded", "succeeded"],
      ["p50 ms", "p50Ms"],
      ["max ms", "maxMs"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "fleet-propagation",
    title:
      "Fleet propagation (3-member etcd; 1 teal server + 2 teal proxy nodes under wrk; ms = switch call sent -> new color answering on all 3 nodes; target p99 < 100 ms)",
    cols: [
      ["name", "name"],
      ["switches", "switches"],
      ["p50 ms", "p50Ms"],
      ["p99 ms", "p99Ms"],
      ["max ms", "maxMs"],
      ["call p50", "callP50Ms"],
      ["call p99", "callP99Ms"],
      ["stale", "staleAnswers"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "fleet-switch",
    title: "Fleet switches under load (3 proxies on a 3-member etcd; 0 errors expected)",
    cols: [
      ["name", "name"],
      ["switches", "switches"],
      ["asked", "asked"],
      ["seconds", "seconds"],
      ["requests", "requests"],
      ["errors", "errors"],
      ["non2xx", "non2xx"],
      ["rps", "rps"],
    ],
  },
  {
    scenario: "idle",
    title:
      "Idle (1,000 services, no traffic; RSS of the process tree in MiB, sampled every 10 s; CPU % of one core over the period)",
    cols: [
      ["name", "name"],
      ["services", "services"],
      ["minutes", "minutes"],
      ["start MiB", "startRssMb"],
      ["end MiB", "endRssMb"],
      ["max MiB", "maxRssMb"],
      ["maxRss/nginx", "maxRssRatioToNginx1000"],
      ["CPU %", "cpuPercent"],
      ["CPU s", "cpuSeconds"],
    ],
  },
];

const cell = (v: unknown): string => (v === undefined || v === null ? "-" : String(v));

function table(rows: ResultRow[], cols: Col[]): string {
  const body = rows.map((r) => cols.map(([, k]) => cell(r[k])));
  const head = cols.map(([h]) => h);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function header(o: BenchOptions): string {
  return [
    `teal bench  ${new Date().toISOString()}  ${os.cpus().length} cores  node ${process.version}`,
    `load: wrk -t1 -c${o.connections} -d${o.durationS}s --latency, ${o.runs} run(s) per candidate, warm-up ${o.warmupS}s`,
    `teal: workers=${o.tealWorkers ?? "auto"} accessLog=${o.accessLog ? "on (teal's default)" : "off (--no-access-log)"}; candidates: ${o.only.join(", ")}; scenarios: ${o.scenarios.join(", ")}`,
  ].join("\n");
}

export function textReport(o: BenchOptions, rows: ResultRow[]): string {
  const out = [header(o)];
  for (const t of TABLES) {
    const ok = rows.filter((r) => r.scenario === t.scenario && !r.error);
    if (!ok.length) continue;
    out.push("", t.title, table(ok, t.cols));
    for (const r of ok) {
      const note = t.notes?.(r);
      if (note) out.push(`  ${note}`);
    }
  }
  const failed = rows.filter((r) => r.error);
  if (failed.length) {
    out.push("", "Errors / notes:");
    for (const r of failed) out.push(`  ${r.scenario} ${r.name}${r.case ? ` ${r.case}` : ""}: ${r.error}`);
  }
  return out.join("\n");
}
