/** SIGHUP takeovers of `teal server` children, and their clean-up, for the takeover tests. */

import { alive } from "./deployments.ts";
import { eventually } from "./eventually.ts";
import type { TealProcess } from "./teal-process.ts";

/** The pids of the teal processes that took over so far, in order (from the shared log stream). */
export const successors = (teal: TealProcess) =>
  teal.logs.filter((l) => l.msg === "took over the listening sockets").map((l) => l.pid as number);

export const logOf = (teal: TealProcess) => teal.logs.map((l) => JSON.stringify(l)).join("\n");

/** Sends SIGHUP to the teal serving now and resolves with the pid of the one that takes over. */
export async function hup(teal: TealProcess, current: number): Promise<number> {
  const before = successors(teal).length;
  process.kill(current, "SIGHUP");
  return eventually(
    () => successors(teal)[before],
    `a new teal to take over from pid ${current}`,
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}; its log:\n${logOf(teal)}`);
  });
}

export async function stopAll(pidList: number[]): Promise<void> {
  for (const pid of pidList) if (alive(pid)) process.kill(pid, "SIGTERM");
  await eventually(() => pidList.every((p) => !alive(p)), "every teal process to exit", 30_000);
}
