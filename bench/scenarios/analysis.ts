/**
 * The analysis scenario (teal only): does the canary analysis roll back what it should and only
 * that? One teal runs the five kinds of version as five services (own instances, own route host,
 * own wrk); each service deploys N versions of its kind in turn under keep-alive load. Each form
 * of the checks (threshold, statistical compare) has its own such teal, side by side with the
 * other. Per kind: how many were rolled back, the
 * time from the app's first bad answer to all traffic back on stable, the requests that failed.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BenchOptions } from "../args.ts";
import { buildTeal, tealCommand } from "../candidates/teal.ts";
import { findByCmdline, stopProcess, trackByCmdline } from "../procs.ts";
import { freePorts, log, median, repoRoot, round, sleep } from "../util.ts";
import { startWrk, thinkTimeScript } from "../wrk.ts";
import { type Ctx, type DeploymentView, deploy, untilFinished } from "./analysisDeploy.ts";
import {
  type AnalysisForm,
  analysisConfig,
  hostOf,
  KINDS,
  TIMINGS,
  type VersionKind,
} from "./analysisSetup.ts";
import { Admin, type StartedTeal, spawnTeal, type TealSetup, waitListening } from "./deployTeal.ts";
import type { ResultRow } from "./types.ts";

/** keep-alive wrk connections per service (five services at once through one teal). */
export const CONNECTIONS_PER_SERVICE = 4;
/**
 * Each connection waits this long after an answer: about 4 / (10 ms + 20 ms) = 130 requests a
 * second per service, 1,300 through both teals. A closed loop as fast as it goes saturated both
 * cores (a 10 ms app answered in 130 ms at the median), where no judge can see 10 ms more.
 */
export const THINK_MS = 20;
/** wrk runs at most this long (a deployment that outlives it fails the kind's loop first). */
const WRK_MAX_S = 70;

interface Round {
  outcome: DeploymentView["outcome"];
  /** The check that failed, or another cause (crash, error…). */
  why: string | null;
  /** App's first bad answer -> the rollback's switch back (wall clock, same machine). */
  msToStable: number | null;
  /** Rolled back before the version had served a bad answer. */
  beforeBad: boolean;
  /** Step analyses that ended inconclusive (the bench then promoted). */
  inconclusive: number;
  requests: number;
  /** wrk's p99 over the deployment (both colors): the noise the latency check lives with. */
  p99Ms: number;
  failed: number;
}

/** `teal validate` on the config: a form this teal does not know is reported, not run. */
function validate(config: string): Promise<string | null> {
  const { cmd, args } = tealCommand(["validate", "--config", config]);
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd: repoRoot }, (err, _out, stderr) =>
      resolve(err ? stderr.trim().split("\n").slice(0, 3).join(" ") || err.message : null),
    ),
  );
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

async function readMark(file: string): Promise<number | null> {
  try {
    return Number(await readFile(file, "utf8"));
  } catch {
    return null;
  }
}

async function oneRound(c: Ctx, kind: VersionKind, i: number): Promise<Round> {
  const mark = path.join(c.dir, `${kind.name}-${i}.first-bad`);
  const wrk = startWrk({
    url: `${c.setup.proxyUrl}/`,
    durationS: WRK_MAX_S,
    connections: CONNECTIONS_PER_SERVICE,
    headers: { Host: hostOf(kind) },
    script: thinkTimeScript(c.dir, THINK_MS),
  });
  let d: DeploymentView;
  let inconclusive: number;
  try {
    await sleep(200); // the connections are open and busy before the deploy
    const seq = await deploy(c, kind.name, `v${i + 2}`, { ...kind.env, BENCH_MARK_FILE: mark });
    ({ d, inconclusive } = await untilFinished(c, kind, seq));
  } catch (e) {
    await wrk.stop().catch(() => undefined);
    throw e;
  }
  const w = await wrk.stop();
  const firstBad = await readMark(mark);
  const rollback = d.events.find((e) => e.type === "rollback");
  const stableAt = rollback ? Date.parse(rollback.at) : null;
  return {
    outcome: d.outcome,
    why:
      d.outcome === "rolled_back"
        ? (rollback?.data?.check?.name ?? d.rollbackCause ?? "?")
        : d.outcome === "failed"
          ? (d.reason ?? "?")
          : null,
    msToStable: firstBad !== null && stableAt !== null ? Math.max(0, stableAt - firstBad) : null,
    beforeBad: d.outcome === "rolled_back" && firstBad === null,
    inconclusive,
    requests: w.requests,
    p99Ms: w.p99Ms,
    failed: w.errors + w.non2xx,
  };
}

function summarize(form: AnalysisForm, kind: VersionKind, rounds: Round[], error?: string): ResultRow {
  const rolledBack = rounds.filter((r) => r.outcome === "rolled_back");
  const toStable = rolledBack.flatMap((r) => (r.msToStable === null ? [] : [r.msToStable]));
  const why = new Map<string, number>();
  for (const r of rolledBack) why.set(r.why ?? "?", (why.get(r.why ?? "?") ?? 0) + 1);
  const failedPer = rounds.map((r) => r.failed);
  return {
    scenario: "analysis",
    name: form,
    case: kind.name,
    kind: kind.describe,
    expect: kind.expect,
    deployments: rounds.length,
    rolledBack: rolledBack.length,
    // A version with nothing bad in it has no "before": its rollbacks are all false ones.
    rolledBackBeforeBad: kind.expect === "rollback" ? rolledBack.filter((r) => r.beforeBad).length : null,
    inconclusiveWaits: rounds.reduce((a, r) => a + r.inconclusive, 0),
    deployFailed: rounds.filter((r) => r.outcome === "failed").length,
    byCheck: [...why].map(([k, n]) => `${k} ${n}`).join(", ") || "-",
    toStableP50Ms: toStable.length ? round(median(toStable), 0) : null,
    toStableMaxMs: toStable.length ? round(Math.max(...toStable), 0) : null,
    failedRequests: failedPer.reduce((a, b) => a + b, 0),
    failedP50: failedPer.length ? median(failedPer) : null,
    failedMax: failedPer.length ? Math.max(...failedPer) : null,
    requests: rounds.reduce((a, r) => a + r.requests, 0),
    clientP99Ms: rounds.length ? round(median(rounds.map((r) => r.p99Ms)), 1) : null,
    timings: TIMINGS.text,
    ...(error ? { error } : {}),
  };
}

/** One form: its own teal, the five kinds side by side, N deployments each. */
async function runForm(
  o: BenchOptions,
  tmp: string,
  form: AnalysisForm,
  [proxyPort, adminPort]: number[],
): Promise<ResultRow[]> {
  const dir = path.join(tmp, `analysis-${form}`);
  const dataDir = path.join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const marker = `--teal-bench-analysis=${dir}`;
  trackByCmdline(marker);
  const config = path.join(dir, "teal.yaml");
  await writeFile(config, analysisConfig({ form, proxyPort: proxyPort!, adminPort: adminPort!, marker }));
  const invalid = await validate(config);
  if (invalid !== null) {
    log(`analysis: ${form} form not run: this teal rejects its config`);
    return [
      { scenario: "analysis", name: form, error: `not run: this teal rejects the ${form} form: ${invalid}` },
    ];
  }
  const setup: TealSetup = {
    dir,
    dataDir,
    config,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    marker,
  };
  let teal: StartedTeal | undefined;
  const rows: ResultRow[] = [];
  try {
    teal = spawnTeal(setup, dir);
    await waitListening(teal);
    const c: Ctx = { admin: await Admin.open(setup), setup, dir };
    // The live version of every service, then N deployments of each kind, the kinds side by side.
    await Promise.all(
      KINDS.map(async (k) => {
        const { d: first } = await untilFinished(
          c,
          { ...k, errorsAfterPromotion: false },
          await deploy(c, k.name, "v1", {}),
        );
        if (first.outcome !== "succeeded")
          throw new Error(`${k.name} v1 ended ${first.outcome}: ${first.reason}`);
      }),
    );
    log(`analysis: ${form} form, ${o.deployments} deployment(s) of each of ${KINDS.length} kinds`);
    const results = await Promise.all(
      KINDS.map(async (k) => {
        const rounds: Round[] = [];
        try {
          for (let i = 0; i < o.deployments; i++) rounds.push(await oneRound(c, k, i));
          return summarize(form, k, rounds);
        } catch (e) {
          return summarize(form, k, rounds, (e as Error).message.split("\n")[0]!);
        }
      }),
    );
    rows.push(...results);
    for (const r of results)
      log(
        `analysis: ${form} ${r.case}: ${r.rolledBack}/${r.deployments} rolled back (${r.byCheck}), to stable p50 ${r.toStableP50Ms} ms, ${r.failedRequests} failed of ${r.requests}`,
      );
  } catch (e) {
    rows.push({ scenario: "analysis", name: form, error: (e as Error).message.split("\n")[0]! });
  } finally {
    if (teal) await stopProcess(teal.proc); // SIGTERM: teal stops its instances first
    let left = findByCmdline(marker);
    for (let i = 0; i < 50 && left.length; i++) {
      await sleep(100); // bounded: up to 5 s for the last instances to exit
      left = findByCmdline(marker);
    }
    if (left.length) {
      for (const pid of left) killPid(pid); // only this form's: the other may still be running
      rows.push({
        scenario: "analysis",
        name: form,
        case: "cleanup",
        error: `app instances still running after teal stopped on SIGTERM: pids ${left.join(", ")} (killed)`,
      });
    }
  }
  return rows;
}

export async function analysisScenario(o: BenchOptions, tmp: string): Promise<ResultRow[]> {
  buildTeal();
  const forms: AnalysisForm[] = o.analysisForm === "both" ? ["threshold", "compare"] : [o.analysisForm];
  // Side by side, each form in its own teal: they live through the same noise at the same time
  // (a fair comparison), and 30 deployments of both fit in one form's time.
  const ports = await freePorts(2 * forms.length); // one call: no two forms get the same port
  return (
    await Promise.all(forms.map((form, i) => runForm(o, tmp, form, ports.slice(2 * i, 2 * i + 2))))
  ).flat();
}
