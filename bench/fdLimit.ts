/** The open-files limit the bench needs for thousands of client connections (it and its children). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

function limits(): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(
    readFileSync("/proc/self/limits", "latin1"),
  );
  const n = (s: string | undefined) => (s === undefined || s === "unlimited" ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/**
 * Make sure this process (and the processes it starts from now on, which inherit the limit) may
 * open `need` files: raise the soft limit up to the hard one with `prlimit` if needed. Node
 * already raises it at start-up, so this mostly checks; a hard limit too low is an error that
 * says what to do.
 */
export function ensureOpenFiles(need: number): number {
  const { soft, hard } = limits();
  if (soft >= need) return soft;
  if (hard < need) {
    throw new Error(
      `needs ${need} open files, but the hard limit (ulimit -Hn) is ${hard}: raise it, or lower --idle-connections`,
    );
  }
  execFileSync("prlimit", [`--pid=${process.pid}`, `--nofile=${need}:${hard === Infinity ? need : hard}`]);
  return limits().soft;
}
