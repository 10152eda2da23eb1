/** The Engine API body that creates one instance's container: pure, no I/O. */

import type { LaunchSpec } from "../runtime.ts";

/** What the docker runtime settles per service, beyond the launch spec. */
export interface ContainerSettings {
  /** The port the app listens on inside the container. */
  readonly containerPort: number;
  /** Docker bind strings "SOURCE:TARGET[:ro]" with host paths already absolute. */
  readonly binds: readonly string[];
  readonly network: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly memoryBytes: number | null;
  readonly cpus: number | null;
  readonly init: boolean;
  readonly stopSignal: NodeJS.Signals;
  readonly stopTimeoutMs: number;
}

/** Labels teal sets on every container; `teal.owner` tells two teal servers on one engine apart. */
export const LABEL = {
  owner: "teal.owner",
  service: "teal.service",
  color: "teal.color",
  version: "teal.version",
  deployment: "teal.deployment",
  instance: "teal.instance",
  index: "teal.index",
} as const;

export function instanceId(spec: Pick<LaunchSpec, "service" | "color" | "deploymentSeq" | "index">): string {
  return `${spec.service}-${spec.color}-${spec.deploymentSeq}-${spec.index}`;
}

export function tealLabels(spec: LaunchSpec, owner: string): Record<string, string> {
  return {
    [LABEL.owner]: owner,
    [LABEL.service]: spec.service,
    [LABEL.color]: spec.color,
    [LABEL.version]: spec.version,
    [LABEL.deployment]: String(spec.deploymentSeq),
    [LABEL.instance]: instanceId(spec),
    [LABEL.index]: String(spec.index),
  };
}

/** The service's env, then what teal sets; teal's own environment is never passed in. */
export function containerEnv(spec: LaunchSpec, containerPort: number): string[] {
  const env: Record<string, string> = {
    ...spec.env,
    PORT: String(containerPort),
    TEAL_COLOR: spec.color,
    TEAL_VERSION: spec.version,
    DEPLOYMENT_COLOR: spec.color,
    TEAL_SERVICE: spec.service,
    TEAL_INSTANCE: instanceId(spec),
  };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/**
 * The create body. The port is published on 127.0.0.1 only, on a port the engine picks; with a
 * user network the container joins it too, reachable there as `<service>-<color>` (and by its
 * container name) only: never as a bare `<service>`, which would reach both colors, the one not
 * released yet included, around teal's switch. teal reaches it through the published port, since
 * teal runs on the host.
 */
export function containerCreateBody(spec: LaunchSpec, settings: ContainerSettings, owner: string): object {
  const port = `${settings.containerPort}/tcp`;
  const cmd =
    spec.command === null
      ? undefined
      : typeof spec.command === "string"
        ? ["/bin/sh", "-c", spec.command]
        : [...spec.command];
  return {
    Image: spec.image,
    ...(cmd ? { Cmd: cmd } : {}),
    Env: containerEnv(spec, settings.containerPort),
    Labels: { ...settings.labels, ...tealLabels(spec, owner) },
    ExposedPorts: { [port]: {} },
    StopSignal: settings.stopSignal,
    StopTimeout: Math.ceil(settings.stopTimeoutMs / 1000),
    Tty: false,
    HostConfig: {
      PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      Binds: [...settings.binds],
      Init: settings.init,
      RestartPolicy: { Name: "no" },
      // teal keeps its own copy of the output; the engine keeps a bounded one.
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } },
      ...(settings.network ? { NetworkMode: settings.network } : {}),
      ...(settings.memoryBytes ? { Memory: settings.memoryBytes } : {}),
      ...(settings.cpus ? { NanoCpus: Math.round(settings.cpus * 1e9) } : {}),
    },
    ...(settings.network
      ? {
          NetworkingConfig: {
            EndpointsConfig: {
              [settings.network]: { Aliases: [`${spec.service}-${spec.color}`] },
            },
          },
        }
      : {}),
  };
}
