/** Builds a DockerRuntime for every docker service, sharing one engine client per engine address. */

import { isAbsolute, resolve } from "node:path";
import type { DockerRuntimeConfig, TealConfig } from "../../config/schema.ts";
import type { ContainerSettings } from "./container-spec.ts";
import { DockerRuntime } from "./docker-runtime.ts";
import { DockerEngine, defaultDockerHost } from "./engine-client.ts";

export interface DockerRuntimes {
  readonly runtimes: ReadonlyMap<string, DockerRuntime>;
  /** Closes the engine connections (containers keep running). */
  close(): Promise<void>;
}

/** No I/O: engines are contacted on first use. */
export function dockerRuntimes(
  config: TealConfig,
  options: { readonly logDir: string; readonly owner: string; readonly configDir: string },
): DockerRuntimes {
  const engines = new Map<string, DockerEngine>();
  const runtimes = new Map<string, DockerRuntime>();
  for (const [name, service] of Object.entries(config.services)) {
    const rt = service.runtime;
    if (rt.type !== "docker") continue;
    const host = rt.host ?? defaultDockerHost();
    let engine = engines.get(host);
    if (!engine) {
      engine = new DockerEngine(host);
      engines.set(host, engine);
    }
    runtimes.set(
      name,
      new DockerRuntime({
        engine,
        logDir: options.logDir,
        owner: options.owner,
        settings: containerSettings(rt, options.configDir),
        pull: rt.pull,
      }),
    );
  }
  return {
    runtimes,
    async close() {
      await Promise.all([...engines.values()].map((e) => e.close()));
    },
  };
}

export function containerSettings(rt: DockerRuntimeConfig, configDir: string): ContainerSettings {
  return {
    containerPort: rt.port,
    binds: rt.volumes.map((v) => bindOf(v, configDir)),
    network: rt.network ?? null,
    labels: rt.labels,
    memoryBytes: rt.resources.memory ?? null,
    cpus: rt.resources.cpus ?? null,
    init: rt.init,
    stopSignal: rt.stopSignal,
    stopTimeoutMs: rt.stopTimeoutMs,
  };
}

/** "./data:/data" becomes "<configDir>/data:/data"; a volume name ("pgdata:/var/lib/pg") stays. */
function bindOf(volume: string, configDir: string): string {
  const [source = "", ...rest] = volume.split(":");
  const isPath = source.startsWith(".") || isAbsolute(source) || source.includes("/");
  return isPath ? [resolve(configDir, source), ...rest].join(":") : volume;
}
