/**
 * nginx's worker processes, seen through /proc (Linux). After a reload the old workers keep
 * accepting new connections until they process the master's QUIT, which can take a while under
 * load; teal waits for that (their title becomes "… is shutting down"), so a verified reload
 * means every new connection gets the new configuration.
 */

import { readdir, readFile } from "node:fs/promises";

/** Pids of the master's workers that still accept connections. */
export async function acceptingWorkers(pidFile: string): Promise<number[]> {
  const master = Number((await readFile(pidFile, "utf8")).trim());
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Field 4 (after the parenthesised name, which may hold spaces) is the parent pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== master) continue;
    const title = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (title.includes("worker process") && !title.includes("shutting down")) pids.push(Number(entry));
  }
  return pids;
}
