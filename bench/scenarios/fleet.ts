/**
 * The fleet scenarios (issue 16): a 3-member etcd on loopback (test/support/etcd.ts), one
 * `teal server --node srv` (the leader) and two `teal proxy --node edge-1|edge-2` (data-plane
 * nodes), every one with the same config: the static service `bench` on the shared backend's blue
 * and green. A wrk per proxy keeps keep-alive load on all three while the live color is switched
 * through the server's admin API (each call returns once every node has acknowledged).
 *
 * - `fleet-propagation`: per switch, ms from sending the call to the new color answering on all
 *   three nodes, probed on an open keep-alive connection per node right after the call returns.
 * - `fleet-switch`: `--fleet-switches` switches back to back under the load: errors (0 expected).
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { type EtcdCluster, startEtcd } from "../../test/support/etcd.ts";
import type { BenchOptions } from "../args.ts";
import type { Backends } from "../backends.ts";
import { buildTeal, tealCommand } from "../candidates/teal.ts";
import type { Color } from "../candidates/types.ts";
import { logTail, type Managed, onStopAll, startProcess, stopProcess } from "../procs.ts";
import { freePorts, log, median, quantile, repoRoot, round } from "../util.ts";
import { startWrk, type WrkResult } from "../wrk.ts";
import type { ResultRow } from "./types.ts";

const PROBE_BOUND_MS = 5_000;
/** The switches of fleet-switch stop here even if fewer than asked were done. */
const FLEET_SWITCH_BOUND_S = 240;
const READY_TIMEOUT_MS = 60_000;

interface Fleet {
  /** The three proxies: srv's, edge-1's, edge-2's. */
  readonly proxies: readonly string[];
  switchTo(to: Color): Promise<void>;
  stop(): Promise<void>;
}

function config(proxy: number, admin: number, b: Backends, o: BenchOptions): string {
  return `proxy:
  listen: 127.0.0.1:${proxy}
  workers: ${o.tealWorkers ?? "auto"}
  accessLog: false
admin:
  listen: 127.0.0.1:${admin}
services:
  bench:
    routes:
      - path: /
    blue: ["http://127.0.0.1:${b.bluePort}"]
    green: ["http://127.0.0.1:${b.greenPort}"]
`;
}

/** Starts a teal process and resolves when it logs `ready` (JSON logs), or rejects if it exits first. */
async function spawnNode(name: string, args: string[], ready: string, tmp: string): Promise<Managed> {
  const { cmd, args: full } = tealCommand(args);
  let heard: () => void = () => {};
  const listening = new Promise<void>((resolve) => {
    heard = resolve;
  });
  const proc = startProcess(name, cmd, full, {
    cwd: repoRoot,
    logDir: tmp,
    env: { ...process.env, TEAL_LOG_FORMAT: "json" },
    stopGraceMs: 15_000,
    onStdoutLine: (line) => {
      if (line.includes(ready) && (JSON.parse(line) as { msg?: string }).msg === ready) heard();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      listening,
      new Promise<never>((_, reject) => {
        proc.child.once("exit", (code) => reject(new Error(`${name} exited (${code}); see ${proc.logFile}`)));
        timer = setTimeout(
          () => reject(new Error(`${name}: no "${ready}" within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    await stopProcess(proc);
    throw new Error(`${(e as Error).message}\n--- ${name} log tail ---\n${logTail(proc)}`);
  } finally {
    clearTimeout(timer);
  }
  return proc;
}

async function startFleet(tmp: string, backends: Backends, o: BenchOptions): Promise<Fleet> {
  buildTeal();
  const etcd: EtcdCluster = await startEtcd({ members: 3 });
  // An interrupted bench stops etcd's members too (they are not the bench's own processes).
  const unhook = onStopAll(() => void etcd.stop());
  const procs: Managed[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await stopProcess(p);
    await etcd.stop();
    unhook();
  };
  try {
    const store = ["--store", `etcd://${etcd.endpoints.map((e) => new URL(e).host).join(",")}`];
    const ports = await freePorts(6);
    const dirs = ["srv", "edge-1", "edge-2"].map((n) => path.join(tmp, `fleet-${n}`));
    for (const [i, dir] of dirs.entries()) {
      await mkdir(path.join(dir, "data"), { recursive: true });
      await writeFile(path.join(dir, "teal.yaml"), config(ports[2 * i]!, ports[2 * i + 1]!, backends, o));
    }
    const [srvDir, e1Dir, e2Dir] = dirs as [string, string, string];
    const yaml = (d: string) => path.join(d, "teal.yaml");
    procs.push(
      await spawnNode(
        "fleet-srv",
        [
          "server",
          "--config",
          yaml(srvDir),
          "--data-dir",
          path.join(srvDir, "data"),
          ...store,
          "--node",
          "srv",
        ],
        "teal listening",
        tmp,
      ),
    );
    for (const [n, d] of [
      ["edge-1", e1Dir],
      ["edge-2", e2Dir],
    ] as const) {
      procs.push(
        await spawnNode(
          `fleet-${n}`,
          ["proxy", "--config", yaml(d), ...store, "--node", n],
          "teal proxy listening",
          tmp,
        ),
      );
    }
    const token = (await readFile(path.join(srvDir, "data", "admin.token"), "utf8")).trim();
    const admin = `http://127.0.0.1:${ports[1]}`;
    return {
      proxies: [0, 2, 4].map((i) => `http://127.0.0.1:${ports[i]}`),
      async switchTo(to) {
        const res = await fetch(`${admin}/v1/services/bench/switch`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ to }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json()) as { lagging?: { node: string }[] };
        if (res.status !== 200)
          throw new Error(`switch to ${to}: HTTP ${res.status} ${JSON.stringify(body)}`);
        if (body.lagging?.length)
          throw new Error(`switch to ${to}: lagging ${body.lagging.map((n) => n.node)}`);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One GET / on the agent's connection: the X-Color that answered. */
function color(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/`, { agent, timeout: PROBE_BOUND_MS }, (res) => {
      res.resume();
      res.once("end", () => resolve(String(res.headers["x-color"] ?? res.statusCode)));
    });
    req.once("timeout", () => req.destroy(new Error("probe timeout")));
    req.once("error", reject);
  });
}

/** wrk on every proxy for as long as `work` runs (bounded); the load starts 0.5 s before it. */
async function underLoad<T>(f: Fleet, o: BenchOptions, maxS: number, work: () => Promise<T>) {
  const connections = Math.max(1, Math.round(o.connections / 3));
  const wrks = f.proxies.map((url) => startWrk({ url: `${url}/`, durationS: maxS, connections }));
  let out: T;
  try {
    await new Promise((r) => setTimeout(r, 500));
    out = await work();
    await new Promise((r) => setTimeout(r, 500));
  } catch (e) {
    await Promise.all(wrks.map((w) => w.stop().catch(() => undefined)));
    throw e;
  }
  const results: WrkResult[] = await Promise.all(wrks.map((w) => w.stop()));
  const sum = (k: "requests" | "errors" | "non2xx") => results.reduce((n, r) => n + r[k], 0);
  return {
    out,
    load: {
      connectionsPerProxy: connections,
      requests: sum("requests"),
      errors: sum("errors"),
      non2xx: sum("non2xx"),
      rps: round(
        results.reduce((n, r) => n + r.rps, 0),
        0,
      ),
    },
  };
}

async function propagation(f: Fleet, o: BenchOptions, count: number): Promise<ResultRow> {
  log(`fleet-propagation: ${count} switches under load through 3 proxies`);
  const agents = f.proxies.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const allMs: number[] = [];
  const callMs: number[] = [];
  let stale = 0;
  let unseen = 0;
  try {
    await Promise.all(f.proxies.map((url, i) => color(url, agents[i]!)));
    const { out: failures, load } = await underLoad(f, o, 60 + count, async () => {
      const failed: string[] = [];
      for (let i = 0; i < count; i++) {
        const to: Color = i % 2 === 0 ? "green" : "blue";
        const t0 = performance.now();
        try {
          await f.switchTo(to);
        } catch (e) {
          failed.push((e as Error).message);
          continue;
        }
        callMs.push(performance.now() - t0);
        const seen = await Promise.all(
          f.proxies.map(async (url, n) => {
            while (performance.now() - t0 < PROBE_BOUND_MS) {
              if ((await color(url, agents[n]!)) === to) return performance.now();
              stale++;
            }
            return Number.NaN;
          }),
        );
        if (seen.some(Number.isNaN)) unseen++;
        else allMs.push(Math.max(...seen) - t0);
      }
      return failed;
    });
    const stats = {
      p50Ms: round(median(allMs), 1),
      p99Ms: round(quantile(allMs, 0.99), 1),
      maxMs: round(Math.max(...allMs), 1),
      callP50Ms: round(median(callMs), 1),
      callP99Ms: round(quantile(callMs, 0.99), 1),
    };
    log(
      `fleet-propagation: p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms (call p50 ${stats.callP50Ms}); ${stale} stale answers, ${load.errors} errors, ${load.non2xx} non-2xx`,
    );
    return {
      scenario: "fleet-propagation",
      name: "teal",
      nodes: 3,
      switches: allMs.length,
      ...stats,
      targetP99Ms: 100,
      staleAnswers: stale,
      notSeenWithinBound: unseen,
      ...load,
      ...(failures.length ? { switchFailures: failures.length, error: failures[0] } : {}),
    };
  } finally {
    for (const a of agents) a.destroy();
  }
}

async function manySwitches(f: Fleet, o: BenchOptions, count: number): Promise<ResultRow> {
  log(`fleet-switch: ${count} switches under load through 3 proxies (at most ${FLEET_SWITCH_BOUND_S} s)`);
  const t0 = performance.now();
  const { out, load } = await underLoad(f, o, FLEET_SWITCH_BOUND_S + 5, async () => {
    let ok = 0;
    const failed: string[] = [];
    for (let i = 0; i < count && performance.now() - t0 < FLEET_SWITCH_BOUND_S * 1000; i++) {
      await f.switchTo(i % 2 === 0 ? "green" : "blue").then(
        () => ok++,
        (e: Error) => failed.push(e.message),
      );
    }
    return { ok, failed, seconds: (performance.now() - t0) / 1000 };
  });
  log(
    `fleet-switch: ${out.ok} switches in ${out.seconds.toFixed(1)} s; ${load.errors} socket errors, ${load.non2xx} non-2xx of ${load.requests}`,
  );
  return {
    scenario: "fleet-switch",
    name: "teal",
    nodes: 3,
    switches: out.ok,
    asked: count,
    seconds: round(out.seconds, 1),
    ...load,
    ...(out.ok + out.failed.length < count ? { note: `stopped after ${FLEET_SWITCH_BOUND_S} s` } : {}),
    ...(out.failed.length ? { switchFailures: out.failed.length, error: out.failed[0] } : {}),
  };
}

/** Both fleet scenarios on one fleet (started once), each only if selected. */
export async function fleetScenarios(
  tmp: string,
  backends: Backends,
  o: BenchOptions,
  which: { readonly propagation: boolean; readonly switches: boolean },
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  let fleet: Fleet;
  try {
    fleet = await startFleet(tmp, backends, o);
  } catch (e) {
    log(`fleet: could not start: ${(e as Error).message}`);
    const error = (e as Error).message.split("\n")[0]!;
    if (which.propagation) rows.push({ scenario: "fleet-propagation", name: "teal", error });
    if (which.switches) rows.push({ scenario: "fleet-switch", name: "teal", error });
    return rows;
  }
  try {
    for (const [selected, scenario, run] of [
      [which.propagation, "fleet-propagation", () => propagation(fleet, o, o.propagationSwitches)],
      [which.switches, "fleet-switch", () => manySwitches(fleet, o, o.fleetSwitches)],
    ] as const) {
      if (!selected) continue;
      try {
        rows.push(await run());
      } catch (e) {
        rows.push({ scenario, name: "teal", error: (e as Error).message });
      }
    }
  } finally {
    await fleet.stop();
  }
  return rows;
}
