/**
 * Resolves what a CLI command needs from flags, environment and files: the config, the data
 * directory, and where the running server's admin API is and its token.
 */

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadConfigFile, validateConfig } from "../config/load.ts";
import type { TealConfig } from "../config/schema.ts";
import { DataDir } from "../server/data-dir.ts";
import { AdminClient } from "./client.ts";

export interface GlobalOptions {
  readonly config?: string;
  readonly dataDir?: string;
  readonly admin?: string;
  readonly token?: string;
  readonly json?: boolean;
}

const DEFAULT_CONFIG = "teal.yaml";

/** The config named by --config, or ./teal.yaml if present, else all defaults. */
export async function resolveConfig(
  opts: GlobalOptions,
  required: boolean,
): Promise<{ config: TealConfig; path?: string }> {
  const path =
    opts.config ?? process.env.TEAL_CONFIG ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  if (path === undefined) {
    if (required) return { config: await loadConfigFile(DEFAULT_CONFIG) };
    return { config: validateConfig({}) };
  }
  return { config: await loadConfigFile(path), path };
}

export function resolveDataDir(opts: GlobalOptions, config: TealConfig): DataDir {
  return new DataDir(resolve(opts.dataDir ?? process.env.TEAL_DATA_DIR ?? config.dataDir ?? ".teal"));
}

export async function adminClient(opts: GlobalOptions): Promise<AdminClient> {
  const { config } = await resolveConfig(opts, false);
  const dataDir = resolveDataDir(opts, config);
  const info = await dataDir.readServerInfo();
  const url = opts.admin ?? process.env.TEAL_ADMIN ?? info?.admin ?? `http://${config.admin.listen}`;
  const token = opts.token ?? process.env.TEAL_TOKEN ?? (await readToken(dataDir));
  return new AdminClient(url.startsWith("http") ? url : `http://${url}`, token);
}

async function readToken(dataDir: DataDir): Promise<string | undefined> {
  try {
    return (await readFile(dataDir.tokenPath, "utf8")).trim();
  } catch {
    return undefined;
  }
}
