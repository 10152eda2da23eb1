/**
 * The data directory: the state database, the admin token and the read-only view token (both
 * mode 0600), and server.json, which tells the CLI where the running server's admin API listens.
 */

import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { TealError } from "../domain/errors.ts";
import { isAlive } from "../runtime/process/proc-info.ts";
import { writeFileAtomic } from "./atomic-file.ts";

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

  async ensure(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
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

  /** Refuses to start a second server on the same data directory. */
  async claim(): Promise<void> {
    const info = await this.readServerInfo();
    if (info && info.pid !== process.pid && isAlive(info.pid)) {
      throw new TealError(
        "CONFLICT",
        `another teal server (pid ${info.pid}, admin ${info.admin}) is using data dir ${this.path}; stop it or use another --data-dir`,
      );
    }
  }

  async writeServerInfo(info: ServerInfo): Promise<void> {
    await writeFileAtomic(this.serverInfoPath, `${JSON.stringify(info, null, 2)}\n`, 0o644);
  }

  async clearServerInfo(): Promise<void> {
    await rm(this.serverInfoPath, { force: true });
  }
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
