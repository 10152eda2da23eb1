/**
 * nginx's worker processes, seen through /proc (Linux). After a reload the old workers keep
 * accepting new connections until they process the master's QUIT, which can take a while under
 * load; teal waits for that (their title becomes "… is shutting down"), so a verified reload
 * means every new connection gets the new configuration.
 */

import { readdir, readFile } from "node:fs/promises";

/** The master's worker processes, and whether each is an old one finishing its work. */
async function workers(pidFile: string): Promise<{ pid: number; shuttingDown: boolean }[]> {
  const master = Number((await readFile(pidFile, "utf8")).trim());
  const found: { pid: number; shuttingDown: boolean }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Field 4 (after the parenthesised name, which may hold spaces) is the parent pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid !== master) continue;
    const title = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (title.includes("worker process"))
      found.push({ pid: Number(entry), shuttingDown: title.includes("shutting down") });
  }
  return found;
}

/** Pids of the master's workers that still accept connections. */
export async function acceptingWorkers(pidFile: string): Promise<number[]> {
  return (await workers(pidFile)).filter((w) => !w.shuttingDown).map((w) => w.pid);
}

/**
 * Old workers still finishing requests after a reload: they run the previous configuration, so a
 * color that lost its share is drained only once none is left.
 */
export async function shuttingDownWorkers(pidFile: string): Promise<number> {
  return (await workers(pidFile)).filter((w) => w.shuttingDown).length;
}
