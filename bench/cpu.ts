/** CPU time of a process tree from /proc/<pid>/stat (utime + stime), for CPU per request and CPU %. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { processTree } from "./rss.ts";

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (USER_HZ, the unit of utime/stime): `getconf CLK_TCK`. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of one process in ticks (0 if it is gone). */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after "(comm) ": state is [0], utime is field 14 of the line, i.e. [11], stime [12].
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by the live processes of the tree rooted at `roots`. Processes that
 * exit between two readings drop out of the sum: use it around runs where the tree is stable
 * (proxy workers live as long as the proxy).
 */
export function treeCpuSeconds(roots: number[]): number {
  let ticks = 0;
  for (const pid of processTree(roots)) ticks += processTicks(pid);
  return ticks / clockTicks();
}

/** A CPU meter started now: `perRequestUs(n)` and `percentOfCore()` over the time since. */
export function startCpuMeter(roots: number[]): {
  cpuSeconds: () => number;
  perRequestUs: (requests: number) => number | null;
  percentOfCore: () => number;
} {
  if (roots.length === 0) {
    return { cpuSeconds: () => 0, perRequestUs: () => null, percentOfCore: () => 0 };
  }
  const cpu0 = treeCpuSeconds(roots);
  const t0 = performance.now();
  const cpuSeconds = () => treeCpuSeconds(roots) - cpu0;
  return {
    cpuSeconds,
    perRequestUs: (requests) => (requests > 0 ? (cpuSeconds() * 1e6) / requests : null),
    percentOfCore: () => (cpuSeconds() * 100_000) / Math.max(1, performance.now() - t0),
  };
}
