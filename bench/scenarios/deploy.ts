import http from "node:http";
import type { BenchOptions } from "../args.ts";
import type { Color } from "../candidates/types.ts";
import { killTracked, stopProcess } from "../procs.ts";
import { log, median, round, sleep } from "../util.ts";
import { startWrk, type WrkResult } from "../wrk.ts";
import {
  Admin,
  type DeploymentRecord,
  getVersion,
  instancePids,
  kill9,
  prepareTeal,
  recordMs,
  type ServiceView,
  type StartedTeal,
  spawnTeal,
  stillRunning,
  type TealSetup,
  waitListening,
} from "./deployTeal.ts";
import type { ResultRow } from "./types.ts";

export const DEPLOY_NOTE =
  "teal only: none of the peers here deploys processes, so there is no anchor to compare with";

const ROLLBACK_SEEN_TIMEOUT_MS = 10_000;
const RESTART_TIMEOUT_MS = 30_000;

export interface Ctx {
  o: BenchOptions;
  tmp: string;
  setup: TealSetup;
  admin: Admin;
  teal: StartedTeal;
  /** The last version number deployed (v1, v2, …). */
  version: number;
}

const other = (c: Color): Color => (c === "blue" ? "green" : "blue");
const ms = (x: number, digits = 1) => (Number.isFinite(x) ? round(x, digits) : null);
const stats = (xs: number[], digits = 1) => ({
  p50Ms: xs.length ? ms(median(xs), digits) : null,
  maxMs: xs.length ? ms(Math.max(...xs), digits) : null,
});
const load = (r: WrkResult) => ({
  requests: r.requests,
  errors: r.errors,
  non2xx: r.non2xx,
  rps: round(r.rps, 0),
});

/** wrk through the proxy for as long as `work` runs (bounded: wrk's own -d, then a hard kill). */
async function underLoad<T>(c: Ctx, maxS: number, work: () => Promise<T>): Promise<[T, WrkResult]> {
  const wrk = startWrk({ url: `${c.setup.proxyUrl}/`, durationS: maxS, connections: c.o.connections });
  let out: T;
  try {
    await sleep(200); // the connections are open and busy before the first change
    out = await work();
  } catch (e) {
    await wrk.stop().catch(() => undefined);
    throw e;
  }
  return [out, await wrk.stop()];
}

export async function deployNext(c: Ctx): Promise<DeploymentRecord> {
  const version = `v${++c.version}`;
  const d = await c.admin.deployAndWait(version);
  if (d.outcome !== "succeeded") throw new Error(`deploy of ${version} ended ${d.outcome}: ${d.reason}`);
  return d;
}

/** 1. N deploys back to back (v2, v3, …) under one keep-alive wrk run. */
export async function deploysUnderLoad(c: Ctx): Promise<ResultRow> {
  const n = c.o.deploys;
  log(`deploy: ${n} deploys back to back under wrk -c${c.o.connections}`);
  const durations: number[] = [];
  const failures: string[] = [];
  const [, r] = await underLoad(c, 60 + 40 * n, async () => {
    for (let i = 0; i < n; i++) {
      const version = `v${++c.version}`;
      const d = await c.admin.deployAndWait(version);
      if (d.outcome === "succeeded") durations.push(recordMs(d));
      else failures.push(`deploy of ${version} ended ${d.outcome}: ${d.reason}`);
    }
  });
  const served = await getVersion(c.setup.proxyUrl, false);
  if (served.version !== `v${c.version}`)
    failures.push(
      `after the deploys the proxy answers ${served.status} ${served.version}, not v${c.version}`,
    );
  log(
    `deploy: ${durations.length}/${n} succeeded, median ${median(durations)} ms; ${r.requests} requests, ${r.errors} errors, ${r.non2xx} non-2xx`,
  );
  return {
    scenario: "deploy",
    name: "teal",
    deploys: n,
    succeeded: durations.length,
    ...stats(durations, 0),
    ...load(r),
    msPerDeploy: durations,
    note: DEPLOY_NOTE,
    ...(failures.length ? { error: failures.join("; ") } : {}),
  };
}

/**
 * Time from sending POST /rollback to the first answer of the old version on an already-open
 * keep-alive connection through the proxy (probed back to back, bounded).
 */
async function timedRollback(c: Ctx, oldVersion: string): Promise<{ ms: number; record: DeploymentRecord }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  try {
    await getVersion(c.setup.proxyUrl, agent); // opens the connection
    const t0 = performance.now();
    const seq = c.admin.rollback();
    let refused = false;
    seq.catch(() => {
      refused = true; // thrown by the await below
    });
    let seenMs = Number.NaN;
    let probeErrors = 0;
    for (let i = 0; i < 100_000 && !refused && performance.now() - t0 < ROLLBACK_SEEN_TIMEOUT_MS; i++) {
      try {
        const a = await getVersion(c.setup.proxyUrl, agent);
        if (a.status === 200 && a.version === oldVersion) {
          seenMs = performance.now() - t0;
          break;
        }
      } catch {
        probeErrors++;
        await sleep(5);
      }
    }
    const record = await c.admin.finished(await seq);
    if (!Number.isFinite(seenMs))
      throw new Error(
        `the proxy did not answer ${oldVersion} within ${ROLLBACK_SEEN_TIMEOUT_MS} ms of POST /rollback (${probeErrors} probe errors)`,
      );
    return { ms: seenMs, record };
  } finally {
    agent.destroy();
  }
}

/** 2. Instant rollbacks (the previous color still warm) under load; a fresh deploy before each but the first. */
async function rollbacksUnderLoad(c: Ctx): Promise<ResultRow> {
  const n = c.o.rollbacks;
  log(`deploy: ${n} instant rollback(s) under wrk -c${c.o.connections}`);
  const times: number[] = [];
  const failures: string[] = [];
  let instant = 0;
  const [, r] = await underLoad(c, 60 + 50 * n, async () => {
    for (let i = 0; i < n; i++) {
      if (i > 0) await deployNext(c); // the last rollback left nothing to roll back to
      const s = await c.admin.service();
      const live = s.routing.live;
      const prev = s.colors[other(live)];
      if (!prev.ready || !prev.version)
        throw new Error(`${other(live)} is not warm before rollback ${i + 1}`);
      const { ms: t, record } = await timedRollback(c, prev.version);
      times.push(t);
      const wasInstant = record.events[0]?.message.includes("still warm") === true;
      if (wasInstant) instant++;
      else failures.push(`rollback #${record.seq} started new instances instead of switching back`);
      if (record.outcome !== "succeeded") failures.push(`rollback #${record.seq} ended ${record.outcome}`);
      log(`deploy: rollback to ${prev.version}: answered after ${t.toFixed(1)} ms`);
    }
  });
  return {
    scenario: "deploy-rollback",
    name: "teal",
    rollbacks: n,
    instant,
    ...stats(times),
    ...load(r),
    msPerRollback: times.map((t) => round(t, 1)),
    ...(failures.length ? { error: failures.join("; ") } : {}),
  };
}

/** Until every instance of both colors is alive and healthy again (bounded). */
async function settled(c: Ctx, timeoutMs = 10_000): Promise<ServiceView> {
  const deadline = performance.now() + timeoutMs;
  let s = await c.admin.service();
  for (let i = 0; i < timeoutMs / 50 && performance.now() < deadline; i++) {
    const all = [...s.colors.blue.instances, ...s.colors.green.instances];
    if (all.length > 0 && all.every((x) => x.alive && x.health?.status === "healthy")) return s;
    await sleep(50);
    s = await c.admin.service();
  }
  throw new Error(`the instances were not all healthy within ${timeoutMs} ms`);
}

/** First 200 answered by `version` through the proxy after a spawn (fresh connection each try). */
async function firstLiveAnswer(url: string, version: string): Promise<{ at: number; other: number }> {
  const start = performance.now();
  let otherAnswers = 0;
  for (let i = 0; i < RESTART_TIMEOUT_MS / 2 && performance.now() - start < RESTART_TIMEOUT_MS; i++) {
    try {
      const a = await getVersion(url, false, 2000);
      if (a.status === 200 && a.version === version) return { at: performance.now(), other: otherAnswers };
      otherAnswers++;
    } catch {
      // not listening yet
    }
    await sleep(2);
  }
  throw new Error(`no 200 from ${version} through the proxy within ${RESTART_TIMEOUT_MS} ms of the restart`);
}

/** 3. kill -9 teal, start it again on the same data dir: time to "teal listening" and to the first 200. */
async function recovery(c: Ctx): Promise<ResultRow> {
  const n = c.o.restarts;
  log(`deploy: ${n} kill -9 + restart(s) of teal`);
  const listening: number[] = [];
  const firstOk: number[] = [];
  const failures: string[] = [];
  let samePids = 0;
  let otherAnswers = 0;
  for (let i = 0; i < n; i++) {
    const before = await settled(c);
    const liveVersion = before.colors[before.routing.live].version!;
    const pids = instancePids(before);
    await kill9(c.teal.proc);
    c.teal = spawnTeal(c.setup, c.tmp);
    const answered = firstLiveAnswer(c.setup.proxyUrl, liveVersion);
    answered.catch(() => {}); // awaited below
    const listenAt = await waitListening(c.teal, RESTART_TIMEOUT_MS);
    const ok = await answered;
    listening.push(listenAt - c.teal.spawnedAt);
    firstOk.push(ok.at - c.teal.spawnedAt);
    otherAnswers += ok.other;
    const after = await c.admin.service();
    const now = instancePids(after);
    if (now.join() === pids.join()) samePids++;
    else failures.push(`restart ${i + 1}: instance pids were ${pids.join(",")}, now ${now.join(",")}`);
    log(
      `deploy: restart ${i + 1}: listening after ${(listenAt - c.teal.spawnedAt).toFixed(0)} ms, first ${liveVersion} 200 after ${(ok.at - c.teal.spawnedAt).toFixed(0)} ms`,
    );
  }
  await settled(c);
  const l = stats(listening, 0);
  const f = stats(firstOk, 0);
  return {
    scenario: "deploy-recovery",
    name: "teal",
    restarts: n,
    listeningP50Ms: l.p50Ms,
    listeningMaxMs: l.maxMs,
    firstOkP50Ms: f.p50Ms,
    firstOkMaxMs: f.maxMs,
    samePids,
    otherAnswers,
    ...(failures.length ? { error: failures.join("; ") } : {}),
  };
}

/**
 * The deploy scenario (teal only): real processes of examples/app.mjs managed by one teal, which
 * is killed with -9 and restarted on the same data dir in part 3; stopped with SIGTERM at the end
 * (teal then stops the instances), and any instance still running after that is reported and killed.
 */
export async function deployScenario(o: BenchOptions, tmp: string): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const parts: [string, (c: Ctx) => Promise<ResultRow>, number][] = [
    ["deploy", deploysUnderLoad, o.deploys],
    ["deploy-rollback", rollbacksUnderLoad, o.rollbacks],
    ["deploy-recovery", recovery, o.restarts],
  ];
  let setup: TealSetup | undefined;
  let first: StartedTeal | undefined;
  let c: Ctx | undefined;
  let part = "deploy";
  try {
    setup = await prepareTeal(tmp);
    first = spawnTeal(setup, tmp);
    await waitListening(first);
    c = { o, tmp, setup, teal: first, admin: await Admin.open(setup), version: 0 };
    await deployNext(c); // v1 on blue
    for (const [name, run, count] of parts) {
      if (count === 0) continue;
      part = name;
      rows.push(await run(c));
    }
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0]!;
    log(`deploy: ${part} failed: ${msg}`);
    rows.push({ scenario: part, name: "teal", error: msg });
    for (const [name, , count] of parts.slice(parts.findIndex(([p]) => p === part) + 1))
      if (count > 0) rows.push({ scenario: name, name: "teal", error: `not run: ${part} failed` });
  } finally {
    const last = c?.teal ?? first;
    if (last && setup) {
      await stopProcess(last.proc); // SIGTERM: teal drains and stops its instances
      const left = await leftovers(setup);
      if (left.length) {
        killTracked();
        rows.push({
          scenario: "deploy",
          name: "teal",
          case: "cleanup",
          error: `app instances still running after teal stopped on SIGTERM: pids ${left.join(", ")} (killed)`,
        });
      }
    }
  }
  return rows;
}

/** Instances still alive 5 s after teal stopped (polled, bounded). */
export async function leftovers(s: TealSetup): Promise<number[]> {
  let left = stillRunning(s);
  for (let i = 0; i < 50 && left.length; i++) {
    await sleep(100);
    left = stillRunning(s);
  }
  return left;
}
