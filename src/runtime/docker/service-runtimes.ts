/** Builds a DockerRuntime for every docker service, sharing one engine client per engine address. */

import { isAbsolute, resolve } from "node:path";
import type { DockerRuntimeConfig, TealConfig } from "../../config/schema.ts";
import type { ContainerSettings } from "./container-spec.ts";
import { DockerRuntime } from "./docker-runtime.ts";
import { checkDockerHost, DockerEngine, defaultDockerHost } from "./engine-client.ts";

export interface DockerRuntimes {
  readonly runtimes: ReadonlyMap<string, DockerRuntime>;
  /** Closes the engine connections (containers keep running). */
  close(): Promise<void>;
}

/**
 * No I/O: engines are contacted on first use. Throws CONFIG_INVALID when a service's engine
 * address (runtime.host, else $DOCKER_HOST) is not one teal can speak to.
 */
export function dockerRuntimes(
  config: TealConfig,
  options: {
    readonly logDir: string;
    readonly owner: string;
    readonly configDir: string;
    /** Where DOCKER_HOST is read from; process.env by default. */
    readonly env?: NodeJS.ProcessEnv;
  },
): DockerRuntimes {
  const engines = new Map<string, DockerEngine>();
  const runtimes = new Map<string, DockerRuntime>();
  for (const [name, service] of Object.entries(config.services)) {
    const rt = service.runtime;
    if (rt.type !== "docker") continue;
    const env = options.env ?? process.env;
    const host = rt.host ?? defaultDockerHost(env);
    const source = rt.host
      ? `services.${name}.runtime.host`
      : env.DOCKER_HOST
        ? `DOCKER_HOST (used by services.${name}, which sets no runtime.host)`
        : "the default Docker host";
    checkDockerHost(host, source);
    let engine = engines.get(host);
    if (!engine) {
      engine = new DockerEngine(host, source);
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
