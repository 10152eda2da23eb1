/**
 * The data directory (mode 0700): the state database, which holds the values given with `--env`,
 * the admin token and the read-only view token, server.json, which tells the CLI where the running
 * server's admin API listens, and the instances' logs; every file mode 0600.
 */

import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { chmod, lstat, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { TealError } from "../domain/errors.ts";
import { writeFileAtomic } from "../fs/atomic-file.ts";
import { isAlive } from "../runtime/process/proc-info.ts";

export interface ServerInfo {
  readonly pid: number;
  readonly admin: string;
  readonly proxy: string;
  readonly startedAt: string;
}

export class DataDir {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  get databasePath(): string {
    return join(this.path, "teal.db");
  }

  get tokenPath(): string {
    return join(this.path, "admin.token");
  }

  /** The dashboard's read-only token: GET requests only (see src/api/auth.ts). */
  get viewTokenPath(): string {
    return join(this.path, "view.token");
  }

  get serverInfoPath(): string {
    return join(this.path, "server.json");
  }

  /** The instances' captured output, one directory per service. */
  get logDir(): string {
    return join(this.path, "logs");
  }

  /**
   * Creates the directory, or makes an existing one and what teal keeps in it private to teal's
   * user again (a copy, a restore or an older teal may have left them readable to others: group
   * and other bits are removed). Returns what was tightened, for the log. Refuses a shared
   * directory such as /tmp, which must not be made private.
   */
  async ensure(): Promise<string[]> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    const dir = await lstat(this.path);
    if (dir.mode & 0o1000 || dir.mode & 0o002) {
      throw new TealError(
        "USAGE",
        `data dir ${this.path} is shared with other users (mode ${octal(dir.mode)}): teal keeps its tokens there and would make it private; use a directory of its own, e.g. ${join(this.path, "teal")}`,
      );
    }
    const tightened: string[] = [];
    const tighten = async (path: string) => {
      const before = await makePrivate(path);
      if (before !== undefined) tightened.push(`${relative(this.path, path) || "."} ${octal(before)}`);
    };
    await tighten(this.path);
    for (const name of PRIVATE_FILES) await tighten(join(this.path, name));
    await walk(this.logDir, tighten);
    return tightened;
  }

  /** The admin token, generated on first start. */
  token(): Promise<string> {
    return secretFile(this.tokenPath);
  }

  /** The read-only view token, generated on first start. */
  viewToken(): Promise<string> {
    return secretFile(this.viewTokenPath);
  }

  async readServerInfo(): Promise<ServerInfo | undefined> {
    try {
      return JSON.parse(await readFile(this.serverInfoPath, "utf8")) as ServerInfo;
    } catch {
      return undefined;
    }
  }

  /** Where a running server listens for `teal server --takeover` (see takeover.ts). */
  get takeoverSocketPath(): string {
    return join(this.path, "takeover.sock");
  }

  /**
   * Refuses to start a second server on the same data directory, except the one taking over
   * from `handedOverBy` (the running server that handed it its sockets).
   */
  async claim(handedOverBy?: number): Promise<void> {
    const info = await this.readServerInfo();
    if (info && info.pid !== process.pid && info.pid !== handedOverBy && isAlive(info.pid)) {
      throw new TealError(
        "CONFLICT",
        `another teal server (pid ${info.pid}, admin ${info.admin}) is using data dir ${this.path}; stop it or use another --data-dir`,
      );
    }
  }

  /**
   * The running server's pid alone: systemd's PIDFile= (examples/systemd/teal.service) reads it
   * after a reload, when the teal that took over is the service's main process.
   */
  get pidPath(): string {
    return join(this.path, "teal.pid");
  }

  async writeServerInfo(info: ServerInfo): Promise<void> {
    await writeFileAtomic(this.serverInfoPath, `${JSON.stringify(info, null, 2)}\n`, 0o600);
    await writeFileAtomic(this.pidPath, `${info.pid}\n`, 0o644);
  }

  async clearServerInfo(): Promise<void> {
    await rm(this.serverInfoPath, { force: true });
    await rm(this.pidPath, { force: true });
  }
}

/** Everything teal writes at the top of the data directory (the logs are walked). */
const PRIVATE_FILES = [
  "teal.db",
  "teal.db-wal",
  "teal.db-shm",
  "teal.db-journal",
  "admin.token",
  "view.token",
  "server.json",
  "dashboard-link.html",
];

/**
 * Removes the group and other bits of a file or directory; returns its mode before, or undefined
 * when there was nothing to do. A symbolic link is left alone: chmod would change its target.
 */
async function makePrivate(path: string): Promise<number | undefined> {
  let mode: number;
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink() || (stats.mode & 0o077) === 0) return undefined;
    mode = stats.mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    await chmod(path, mode & 0o700);
  } catch (err) {
    throw new TealError(
      "USAGE",
      `cannot make ${path} private (mode ${octal(mode)}, ${(err as NodeJS.ErrnoException).code}): run teal as its owner or use another --data-dir`,
      { cause: err },
    );
  }
  return mode;
}

/** Calls visit on dir and everything under it (not following symbolic links); a missing dir is fine. */
async function walk(dir: string, visit: (path: string) => Promise<void>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await visit(dir);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, visit);
    else if (entry.isFile()) await visit(path);
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** A random token kept in a file of mode 0600, created on first use. */
async function secretFile(path: string): Promise<string> {
  try {
    const existing = (await readFile(path, "utf8")).trim();
    if (existing !== "") {
      await chmod(path, 0o600);
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomBytes(32).toString("base64url");
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}
