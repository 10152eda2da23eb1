import { readdirSync, readFileSync } from "node:fs";

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** pid -> parent pid for every process in /proc. */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`);
    // "pid (comm) state ppid ...": comm may contain spaces/parens, so parse after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(rest[1]);
    if (!Number.isFinite(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  return children;
}

/** The given pids and all their descendants (bounded walk). */
export function processTree(roots: number[]): number[] {
  const children = parentMap();
  const seen = new Set<number>();
  const queue = [...roots];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i]!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/** Sum of VmRSS (bytes) over the process tree rooted at `roots`. */
export function treeRssBytes(roots: number[]): number {
  let kb = 0;
  for (const pid of processTree(roots)) {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readOr(`/proc/${pid}/status`));
    if (m) kb += Number(m[1]);
  }
  return kb * 1024;
}

export const toMb = (bytes: number) => bytes / (1024 * 1024);
