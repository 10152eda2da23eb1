/**
 * A real Docker registry (Debian's docker-registry, the distribution project's v2 registry) on
 * 127.0.0.1, which Docker engines treat as insecure by default: tests push an image to it and
 * let teal pull it.
 */

import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually } from "./eventually.ts";
import { freePort, stopChild } from "./routers.ts";

export interface Registry {
  /** host:port, the prefix of image names in it. */
  readonly address: string;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const config = join(dir, "registry.yml");
  await writeFile(
    config,
    `version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: ${join(dir, "registry-data")} } }
http: { addr: "127.0.0.1:${port}" }
`,
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
  const address = `127.0.0.1:${port}`;
  await eventually(
    () =>
      fetch(`http://${address}/v2/`).then(
        (r) => r.status === 200,
        () => false,
      ),
    "the registry to answer",
  );
  return { address, stop: () => stopChild(child) };
}
