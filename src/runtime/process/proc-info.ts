/** What /proc says about a pid: whether it still runs, when it started, and who is in its group. */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The /proc/<pid>/stat fields from field 3 (state) on, or null when there is no such process. */
function statFields(pid: number): string[] | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 is the command name in parentheses and may itself contain ") ", so parse after the last one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** True for a running process; a zombie (killed, not yet reaped) does not count. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const fields = statFields(pid);
  if (fields) return fields[0] !== "Z";
  // No /proc (or the process is gone): fall back to signal 0.
  return signalZeroReaches(pid);
}

/**
 * The process start time (field 22 of /proc/<pid>/stat, clock ticks since boot), or null when the
 * process does not exist or /proc is unavailable. Together with the pid it names one process for good.
 */
export function pidStartTime(pid: number): number | null {
  const value = Number(statFields(pid)?.[19]);
  return Number.isSafeInteger(value) ? value : null;
}

/** True while `pid` is alive and is the process that started at `startTime` (not a reused pid). */
export function isSameProcess(pid: number, startTime: number | null): boolean {
  return isAlive(pid) && pidStartTime(pid) === startTime;
}

/** True while any process other than a zombie is in process group `pgid`. */
export function groupHasLiveMembers(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return signalZeroReaches(-pgid);
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && fields[0] !== "Z" && Number(fields[2]) === pgid) return true;
  }
  return false;
}

function signalZeroReaches(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Process groups with a live member whose stdout is a file under `dir`: the instances teal
 * started there, including any it never got to record (a crash between spawn and save).
 */
export function groupsWritingUnder(dir: string): Set<number> {
  const groups = new Set<number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return groups;
  }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let target: string;
    try {
      target = readlinkSync(`/proc/${entry}/fd/1`);
    } catch {
      continue;
    }
    if (!target.startsWith(prefix)) continue;
    const fields = statFields(Number(entry));
    if (fields && fields[0] !== "Z") groups.add(Number(fields[2]));
  }
  return groups;
}
