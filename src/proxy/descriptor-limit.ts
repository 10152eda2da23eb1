/**
 * How many client connections the proxy's listener takes at most, from the process's limit on
 * open files. Past that limit the kernel's accept fails, and libuv quietly closes what it cannot
 * accept: nobody would know. Capping client connections below it leaves descriptors for upstream
 * connections, the store and logs, and each connection refused at the cap is seen, logged and counted.
 */

import { readFileSync } from "node:fs";

/** The share of the descriptor limit client connections may use; the rest is for upstreams. */
const CLIENT_SHARE = 0.75;

/** The soft RLIMIT_NOFILE of this process, or undefined where /proc does not tell (not Linux). */
export function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "latin1"));
    return line === null || line[1] === "unlimited" ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}

/** The client connections to accept at most (undefined: no cap is known). */
export function maxClientConnections(limit = openFilesLimit()): number | undefined {
  return limit === undefined ? undefined : Math.max(1, Math.floor(limit * CLIENT_SHARE));
}
