/**
 * The Docker runtime: each instance is a container labelled with its service, color, version and
 * deployment, its port published on 127.0.0.1. Containers outlive a crashed teal; the next teal
 * re-adopts them by id, resumes copying their output, and removes the ones no record knows.
 */

import { createHash, randomBytes } from "node:crypto";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Clock, systemClock } from "../../domain/clock.ts";
import { TealError } from "../../domain/errors.ts";
import type { InstanceRecord } from "../../domain/slot.ts";
import { readLastLines } from "../log-files.ts";
import type { InstanceHandle, InstanceOptions, LaunchSpec, PrepareSpec, Runtime } from "../runtime.ts";
import { ContainerInstance } from "./container-instance.ts";
import { type ContainerSettings, containerCreateBody, instanceId, LABEL } from "./container-spec.ts";
import type { DockerEngine } from "./engine-client.ts";
import { ensureImage, type PullPolicy } from "./image-pull.ts";
import { followContainerLogs } from "./log-follower.ts";

/** How many of its last lines a container that stopped at once reports. */
const LAST_LINES = 20;
/** How long copying the output of a container that stopped at once may take. */
const LOG_COPY_MS = 5000;

export interface DockerRuntimeOptions {
  readonly engine: DockerEngine;
  /** Container output is copied to `<logDir>/<service>/<color>-<index>.log`. */
  readonly logDir: string;
  /** Identifies this teal (its data directory) in the teal.owner label. */
  readonly owner: string;
  readonly settings: ContainerSettings;
  readonly pull: PullPolicy;
  readonly clock?: Clock;
}

interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: {
    readonly Running: boolean;
    readonly Pid: number;
    readonly StartedAt: string;
    readonly ExitCode?: number;
    readonly OOMKilled?: boolean;
  };
  readonly Config: { readonly Labels: Record<string, string> | null };
  readonly NetworkSettings: { readonly Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

/** Starts, adopts and stops one service's instances as containers. The constructor does no I/O. */
export class DockerRuntime implements Runtime {
  readonly #options: DockerRuntimeOptions;
  readonly #clock: Clock;

  constructor(options: DockerRuntimeOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  get engine(): DockerEngine {
    return this.#options.engine;
  }

  async prepare(spec: PrepareSpec, progress: (message: string) => void, signal?: AbortSignal): Promise<void> {
    await ensureImage(this.engine, requireImage(spec), this.#options.pull, progress, signal);
  }

  async launch(spec: LaunchSpec, options: InstanceOptions): Promise<InstanceHandle> {
    const image = requireImage(spec);
    const { settings, owner } = this.#options;
    const id = instanceId(spec);
    const name = `teal-${ownerTag(owner)}-${id}-${randomBytes(3).toString("hex")}`;
    const created = await this.engine.json<{ Id: string }>(
      "POST",
      `/containers/create?name=${name}`,
      `cannot create a container from ${image}`,
      containerCreateBody({ ...spec, image }, settings, owner),
    );
    const containerId = created.body.Id;
    const logPath = join(this.#options.logDir, spec.service, `${spec.color}-${spec.index}.log`);
    const startedAt = new Date(this.#clock.now()).toISOString();
    const header = (port: number | string) =>
      `--- teal ${startedAt}: starting ${spec.service} ${spec.version} on ${spec.color} (deployment ${spec.deploymentSeq}, instance ${spec.index}, container ${containerId.slice(0, 12)} from ${image}, port ${port}) ---\n`;
    let info: ContainerInspect;
    let port: number;
    try {
      await this.engine.json("POST", `/containers/${containerId}/start`, `cannot start container ${name}`);
      info = await this.#inspect(containerId, name);
      if (!info.State.Running) throw await this.#exitedAtStart(info, id, logPath, header("none"));
      port = publishedPort(info, settings.containerPort);
    } catch (err) {
      await this.remove(containerId).catch(() => {});
      throw err;
    }
    await mkdir(dirname(logPath), { recursive: true, mode: 0o700 });
    await writeFile(logPath, header(port), { flag: "a", mode: 0o600 });
    const record: InstanceRecord = {
      id,
      index: spec.index,
      pid: info.State.Pid,
      pidStartTime: null,
      port,
      url: `http://127.0.0.1:${port}`,
      logPath,
      startedAt,
      containerId,
    };
    // From the container's start: nothing it printed before the follow began is missed.
    return this.#instance(record, 0, options);
  }

  /** The container of a record, if it still runs; a stopped one is removed and reported gone. */
  async adopt(record: InstanceRecord, options: InstanceOptions): Promise<InstanceHandle | undefined> {
    if (!record.containerId) return undefined;
    const info = await this.engine.jsonOrMissing<ContainerInspect>(
      "GET",
      `/containers/${record.containerId}/json`,
      `inspecting container ${record.containerId.slice(0, 12)}`,
    );
    if (!info || info.Config.Labels?.[LABEL.owner] !== this.#options.owner) return undefined;
    // Resume the copy a second before the file stopped growing: a line in flight at a kill -9
    // may then appear twice at the seam, but none is lost.
    const since = await stat(record.logPath).then(
      (s) => Math.max(0, s.mtimeMs / 1000 - 1),
      () => 0,
    );
    if (!info.State.Running) {
      // It died while teal was down: keep what it said last and how it ended, then remove it.
      await followContainerLogs(
        this.engine,
        info.Id,
        record.logPath,
        since,
        AbortSignal.timeout(LOG_COPY_MS),
        {
          follow: false,
        },
      ).catch(() => {});
      const how = info.State.OOMKilled
        ? "was killed: out of memory"
        : `exited with code ${info.State.ExitCode}`;
      await writeFile(
        record.logPath,
        `--- teal: container ${record.id} ${how} while teal was not running ---\n`,
        { flag: "a", mode: 0o600 },
      ).catch(() => {});
      await this.remove(info.Id);
      return undefined;
    }
    return this.#instance({ ...record, pid: info.State.Pid }, since, options);
  }

  /**
   * Removes every container of this teal's service `service` that no record knows (left by a
   * crash between creating a container and saving its record). Returns their names.
   */
  async removeOrphans(service: string, known: ReadonlySet<string>): Promise<string[]> {
    const filters = JSON.stringify({
      label: [`${LABEL.owner}=${this.#options.owner}`, `${LABEL.service}=${service}`],
    });
    const list = await this.engine.json<{ Id: string; Names: string[] }[]>(
      "GET",
      `/containers/json?all=1&filters=${encodeURIComponent(filters)}`,
      "listing teal's containers",
    );
    const orphans = list.body.filter((c) => !known.has(c.Id));
    for (const c of orphans) await this.remove(c.Id);
    return orphans.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12));
  }

  /** Force-removes a container; one that is already gone is fine. */
  async remove(containerId: string): Promise<void> {
    try {
      await this.engine.json("DELETE", `/containers/${containerId}?force=1&v=1`, "removing a container");
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
  }

  #instance(record: InstanceRecord, sinceSec: number, options: InstanceOptions): ContainerInstance {
    const follow = new AbortController();
    const copied = followContainerLogs(
      this.engine,
      record.containerId!,
      record.logPath,
      sinceSec,
      follow.signal,
    );
    return new ContainerInstance({
      record,
      engine: this.engine,
      clock: this.#clock,
      logMaxBytes: options.logMaxBytes,
      logsCopied: copied,
      stopCopying: () => follow.abort(),
      remove: () => this.remove(record.containerId!),
    });
  }

  /**
   * The error for a container that stopped before teal could use it: its output is copied to the
   * log file first (under the usual header), and its last lines go in the error's details.logs,
   * shaped as the deployer's failure report wants them.
   */
  async #exitedAtStart(
    info: ContainerInspect,
    id: string,
    logPath: string,
    header: string,
  ): Promise<TealError> {
    await mkdir(dirname(logPath), { recursive: true, mode: 0o700 });
    await writeFile(logPath, header, { flag: "a", mode: 0o600 });
    await followContainerLogs(this.engine, info.Id, logPath, 0, AbortSignal.timeout(LOG_COPY_MS), {
      follow: false,
    });
    const all = await readLastLines(logPath, LAST_LINES).catch((): string[] => []);
    const from = all.lastIndexOf(header.trimEnd());
    const lines = from >= 0 ? all.slice(from + 1) : all;
    const { ExitCode: code, OOMKilled: oom } = info.State;
    const how = oom
      ? `was killed: out of memory (resources.memory) with exit code ${code}`
      : `exited with code ${code}`;
    const last = lines.at(-1);
    return new TealError(
      "LAUNCH_FAILED",
      `container ${id} ${how} right after it started${last === undefined ? " (no output)" : `; its last output: ${last}`} (all of it in ${logPath})`,
      { details: { exitCode: code, oomKilled: oom === true, logPath, logs: [{ id, lines }] } },
    );
  }

  async #inspect(containerId: string, name: string): Promise<ContainerInspect> {
    return (
      await this.engine.json<ContainerInspect>("GET", `/containers/${containerId}/json`, `inspecting ${name}`)
    ).body;
  }
}

function requireImage(spec: { readonly image?: string | null; readonly service: string }): string {
  if (!spec.image) {
    throw new TealError(
      "LAUNCH_FAILED",
      `${spec.service} has no image to run; set runtime.image or deploy with --image`,
    );
  }
  return spec.image;
}

function publishedPort(info: ContainerInspect, containerPort: number): number {
  const binding = info.NetworkSettings.Ports[`${containerPort}/tcp`]?.find((b) => b.HostIp === "127.0.0.1");
  const port = Number(binding?.HostPort);
  if (!Number.isInteger(port) || port <= 0) {
    throw new TealError(
      "LAUNCH_FAILED",
      `container ${info.Name} has no port published for ${containerPort}/tcp`,
    );
  }
  return port;
}

/** A short, stable tag of the owner, so that container names tell teal servers apart. */
function ownerTag(owner: string): string {
  return createHash("sha256").update(owner).digest("hex").slice(0, 6);
}
