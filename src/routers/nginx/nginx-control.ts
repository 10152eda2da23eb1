/**
 * The nginx binary as teal uses it: test a candidate configuration, and reload the running
 * nginx. A candidate is tested in a copy of the main config that includes it instead of the live
 * file, so an invalid render never touches what nginx runs.
 */

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

const COMMAND_TIMEOUT_MS = 15_000;

export interface NginxPaths {
  readonly binary: string;
  readonly mainConfig: string;
  readonly configFile: string;
  readonly prefix: string | undefined;
}

export class NginxControl {
  readonly #paths: NginxPaths;

  constructor(paths: NginxPaths) {
    this.#paths = paths;
  }

  /** Runs `nginx -t` on the main config with `candidate` in place of the live file; rejects with nginx's complaint. */
  async test(candidate: string): Promise<void> {
    const main = await readFile(this.#paths.mainConfig, "utf8");
    if (!main.includes(this.#paths.configFile)) {
      throw new Error(
        `${this.#paths.mainConfig} does not include ${this.#paths.configFile}: add "include ${this.#paths.configFile};" inside its http {} block`,
      );
    }
    // Beside the main config, so that its relative includes resolve the same way.
    // A name of its own: services sharing this main config may test at the same moment.
    const testMain = join(dirname(this.#paths.mainConfig), `.teal-test-${randomUUID()}.conf`);
    await writeFile(testMain, main.split(this.#paths.configFile).join(candidate));
    try {
      await this.#run(["-t", "-q", "-c", testMain]);
    } finally {
      await rm(testMain, { force: true });
    }
  }

  /** Asks the running nginx (found through the main config's pid file) to reload. */
  async reload(): Promise<void> {
    await this.#run(["-s", "reload", "-c", this.#paths.mainConfig]);
  }

  #run(args: string[]): Promise<void> {
    const prefix = this.#paths.prefix ? ["-p", this.#paths.prefix] : [];
    return new Promise((resolve, reject) => {
      execFile(
        this.#paths.binary,
        [...prefix, ...args],
        { timeout: COMMAND_TIMEOUT_MS },
        (err, _out, stderr) => {
          if (!err) return resolve();
          const lines = stderr.split("\n").filter((l) => /\[(emerg|alert|crit|error)\]/.test(l));
          const why = (lines.length > 0 ? lines.join("; ") : stderr.trim() || err.message).replace(
            /^nginx: /,
            "",
          );
          reject(new Error(`${this.#paths.binary} ${args.join(" ")}: ${why}`));
        },
      );
    });
  }
}
