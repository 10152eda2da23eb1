// npm run bench -- [flags]   (see bench/README.md or --help)
import { type BenchOptions, parseOptions, USAGE } from "./args.ts";
import { type Backends, startBackends } from "./backends.ts";
import { FACTORIES } from "./candidates/index.ts";
import type { Candidate } from "./candidates/types.ts";
import { killAllSync, stopAll } from "./procs.ts";
import { header, textReport } from "./report.ts";
import { analysisScenario } from "./scenarios/analysis.ts";
import { deployScenario } from "./scenarios/deploy.ts";
import { memory } from "./scenarios/memory.ts";
import { switchUnderLoad } from "./scenarios/switch.ts";
import { throughput } from "./scenarios/throughput.ts";
import type { ResultRow } from "./scenarios/types.ts";
import { switchVisibility } from "./scenarios/visibility.ts";
import { log, makeTmpDir, removeDir } from "./util.ts";

/** Teal-only scenarios run on the peers too with --extra (for comparison). */
const teaOnly = (c: Candidate, o: BenchOptions) => c.name === "teal" || (o.extra && c.name !== "direct");

async function startCandidates(o: BenchOptions, tmp: string, backends: Backends, rows: ResultRow[]) {
  const cands: Candidate[] = [];
  for (const name of o.only) {
    try {
      cands.push(await FACTORIES[name]({ tmp, backends, opts: o }));
      log(`started ${name}`);
    } catch (e) {
      log(`could not start ${name}: ${(e as Error).message}`);
      rows.push({ scenario: "startup", name, error: (e as Error).message.split("\n")[0]! });
    }
  }
  return cands;
}

let tmpDir = "";

async function main(o: BenchOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const tmp = await makeTmpDir();
  tmpDir = tmp;
  log(`temp dir ${tmp}`);
  try {
    // The deploy and analysis scenarios bring their own teal and app processes: no shared backend or candidates.
    const shared = o.scenarios.some((s) => s !== "deploy" && s !== "analysis");
    const backends = shared ? await startBackends(tmp, o.scenarios.includes("memory")) : undefined;
    const cands = backends ? await startCandidates(o, tmp, backends, rows) : [];
    if (o.scenarios.includes("throughput")) rows.push(...(await throughput(cands, o)));
    if (o.scenarios.includes("switch")) rows.push(...(await switchUnderLoad(cands, o)));
    if (o.scenarios.includes("visibility")) {
      for (const c of cands.filter((c) => teaOnly(c, o))) rows.push(await switchVisibility(c));
    }
    if (o.scenarios.includes("memory")) {
      for (const c of cands.filter((c) => teaOnly(c, o))) {
        await c.stop(); // the last scenario on the shared candidates: each case starts a fresh instance
        const start = () =>
          FACTORIES[c.name as keyof typeof FACTORIES]({ tmp, backends: backends!, opts: o });
        rows.push(...(await memory(start, o)));
      }
    }
    if (o.scenarios.includes("deploy")) {
      if (o.only.includes("teal")) rows.push(...(await deployScenario(o, tmp)));
      else log("deploy: skipped (it measures teal only, and --only leaves teal out)");
    }
    if (o.scenarios.includes("analysis")) {
      if (o.only.includes("teal")) rows.push(...(await analysisScenario(o, tmp)));
      else log("analysis: skipped (it measures teal only, and --only leaves teal out)");
    }
    return rows;
  } finally {
    await stopAll();
    if (o.keepTmp) log(`kept ${tmp}`);
    else await removeDir(tmp);
  }
}

let opts: BenchOptions | null;
try {
  opts = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (!opts) {
  console.log(USAGE);
  process.exit(0);
}
const o = opts;
process.on("exit", killAllSync);
let interrupted: Promise<void> | null = null;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping everything`);
    interrupted = stopAll(true)
      .then(() => (tmpDir && !o.keepTmp ? removeDir(tmpDir) : undefined))
      .finally(() => process.exit(130));
  });
}
if (!o.json) console.log(`${header(o)}\n`);
else log(header(o).replaceAll("\n", "\n[bench] "));
try {
  const rows = await main(o);
  if (interrupted) await interrupted; // exits 130 without a report
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else console.log(textReport(o, rows).split("\n").slice(3).join("\n"));
  process.exit(0);
} catch (e) {
  log(`failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
}
