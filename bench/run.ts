// npm run bench -- [flags]   (see bench/README.md or --help)
import { type BenchOptions, parseOptions, USAGE } from "./args.ts";
import { type Backends, BIG_PATH, startBackends } from "./backends.ts";
import { FACTORIES } from "./candidates/index.ts";
import type { Candidate } from "./candidates/types.ts";
import { killAllSync, stopAll } from "./procs.ts";
import { header, textReport } from "./report.ts";
import { analysisScenario } from "./scenarios/analysis.ts";
import { deployScenario } from "./scenarios/deploy.ts";
import { deployStores } from "./scenarios/deployStores.ts";
import { fleetScenarios } from "./scenarios/fleet.ts";
import { idleScenario } from "./scenarios/idle.ts";
import { addRssRatios, memory } from "./scenarios/memory.ts";
import { migrateBackfill } from "./scenarios/migrateBackfill.ts";
import { manyServices } from "./scenarios/services.ts";
import { switchUnderLoad } from "./scenarios/switch.ts";
import { switchScale } from "./scenarios/switchScale.ts";
import { body100kSpec, c1000Spec, PEERS, throughput, throughputSpec } from "./scenarios/throughput.ts";
import { tlsScenario } from "./scenarios/tls.ts";
import type { ResultRow } from "./scenarios/types.ts";
import { switchVisibility } from "./scenarios/visibility.ts";
import { log, makeTmpDir, removeDir } from "./util.ts";

/** Teal-only scenarios run on the peers too with --extra (for comparison). */
const teaOnly = (c: Candidate, o: BenchOptions) => c.name === "teal" || (o.extra && c.name !== "direct");
/** The memory scenario's idle and c=1000 cases run on teal and its peers (the routed forms with --extra). */
const inMemory = (c: Candidate, o: BenchOptions) =>
  c.name !== "direct" && (PEERS.includes(c.name) || o.extra);
/** Scenarios that load the shared candidates (the others start their own processes). */
const ON_CANDIDATES = ["throughput", "c1000", "body100k", "services1000", "switch", "visibility", "memory"];
/** Scenarios that bring their own teal and app processes: no shared backend. */
const OWN_BACKEND = ["deploy", "analysis", "migrate-backfill", "deploy-stores"];

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
    const has = (s: string) => o.scenarios.includes(s as (typeof o.scenarios)[number]);
    const shared = o.scenarios.some((s) => !OWN_BACKEND.includes(s));
    const backends = shared ? await startBackends(tmp, has("memory")) : undefined;
    const onCands = o.scenarios.some((s) => ON_CANDIDATES.includes(s));
    const cands = backends && onCands ? await startCandidates(o, tmp, backends, rows) : [];
    const ctx = backends ? { tmp, backends, opts: o } : undefined;
    const peers = cands.filter((c) => PEERS.includes(c.name));
    const tealIn = o.only.includes("teal");
    const skip = (s: string) => log(`${s}: skipped (it measures teal, and --only leaves teal out)`);
    if (has("throughput")) rows.push(...(await throughput(cands, throughputSpec(o))));
    if (has("c1000")) rows.push(...(await throughput(peers, c1000Spec(o))));
    if (has("body100k")) rows.push(...(await throughput(peers, body100kSpec(o, BIG_PATH))));
    if (has("services1000")) {
      const singles = cands.filter((c) => c.name === "teal" || c.name === "nginx");
      if (tealIn) rows.push(...(await manyServices(ctx!, singles, o)));
      else skip("services1000");
    }
    if (has("switch")) rows.push(...(await switchUnderLoad(cands, o)));
    if (has("tls")) {
      if (tealIn) rows.push(...(await tlsScenario(tmp, backends!, o)));
      else skip("tls");
    }
    if (has("visibility")) {
      for (const c of cands.filter((c) => teaOnly(c, o))) rows.push(await switchVisibility(c));
    }
    if (has("switch-scale")) {
      if (tealIn) rows.push(...(await switchScale(ctx!, o)));
      else skip("switch-scale");
    }
    if (has("memory")) {
      for (const c of cands.filter((c) => inMemory(c, o))) {
        await c.stop(); // the last scenario on the shared candidates: each case starts a fresh instance
        const start = () =>
          FACTORIES[c.name as keyof typeof FACTORIES]({ tmp, backends: backends!, opts: o });
        rows.push(...(await memory(start, o, teaOnly(c, o))));
      }
      addRssRatios(rows);
    }
    if (has("deploy")) {
      if (tealIn) rows.push(...(await deployScenario(o, tmp)));
      else skip("deploy");
    }
    if (has("analysis")) {
      if (tealIn) rows.push(...(await analysisScenario(o, tmp)));
      else skip("analysis");
    }
    if (has("migrate-backfill")) {
      if (tealIn) rows.push(...(await migrateBackfill(o)));
      else skip("migrate-backfill");
    }
    if (has("deploy-stores")) {
      if (tealIn) rows.push(...(await deployStores(o, tmp)));
      else skip("deploy-stores");
    }
    if (has("fleet-propagation") || has("fleet-switch")) {
      const which = { propagation: has("fleet-propagation"), switches: has("fleet-switch") };
      if (tealIn) rows.push(...(await fleetScenarios(tmp, backends!, o, which)));
      else skip("fleet-propagation/fleet-switch");
    }
    // Last and alone: nothing else runs on the machine while teal idles.
    if (has("idle")) {
      for (const c of cands) await c.stop();
      if (tealIn) rows.push(...(await idleScenario(ctx!, o)));
      else skip("idle");
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
