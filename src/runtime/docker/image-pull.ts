/** Makes sure an image is on the engine before a deployment touches anything: inspect, then pull. */

import { createInterface } from "node:readline";
import { TealError } from "../../domain/errors.ts";
import type { DockerEngine } from "./engine-client.ts";

export type PullPolicy = "missing" | "always" | "never";

interface PullLine {
  readonly status?: string;
  readonly id?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
}

/** How often download progress is reported while layers come in. */
const PROGRESS_EVERY_MS = 1_000;

/**
 * Resolves once `image` is on the engine. Pulls it when it is missing (or always, by policy),
 * reporting progress; rejects with the engine's own message when it cannot be had.
 */
export async function ensureImage(
  engine: DockerEngine,
  image: string,
  policy: PullPolicy,
  progress: (message: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const present = await hasImage(engine, image);
  if (present && policy !== "always") return;
  if (!present && policy === "never") {
    throw new TealError(
      "LAUNCH_FAILED",
      `image ${image} is not on the Docker engine at ${engine.host} and runtime.pull is "never"; build or load it there first, or set runtime.pull: missing`,
      { details: { image } },
    );
  }
  progress(`pulling image ${image}${present ? " (pull: always)" : " (not on the engine yet)"}`);
  await pull(engine, image, progress, signal);
  progress(`pulled image ${image}`);
}

export async function hasImage(engine: DockerEngine, image: string): Promise<boolean> {
  const found = await engine.jsonOrMissing("GET", `/images/${image}/json`, `inspecting image ${image}`);
  return found !== undefined;
}

async function pull(
  engine: DockerEngine,
  image: string,
  progress: (message: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const what = `cannot pull image ${image}`;
  const body = await engine.stream("POST", pullPath(image), what, signal);
  const layers = new Map<string, { current: number; total: number }>();
  let lastReport = 0;
  for await (const line of createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") continue;
    let msg: PullLine;
    try {
      msg = JSON.parse(line) as PullLine;
    } catch {
      continue;
    }
    if (msg.error !== undefined) {
      throw new TealError("LAUNCH_FAILED", `${what}: ${msg.errorDetail?.message ?? msg.error}`, {
        details: { image },
      });
    }
    const { status, id, progressDetail } = msg;
    if (status === "Downloading" && id && progressDetail?.total) {
      layers.set(id, { current: progressDetail.current ?? 0, total: progressDetail.total });
      if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
        lastReport = Date.now();
        progress(`pulling ${image}: ${downloaded(layers)}`);
      }
    } else if (status && !["Downloading", "Extracting", "Waiting", "Verifying Checksum"].includes(status)) {
      progress(`pulling ${image}: ${id ? `${id}: ` : ""}${status}`);
    }
  }
}

/**
 * The pull request's path. A reference with neither tag nor digest gets `tag=latest`: without a
 * tag the engine pulls every tag of the repository. A registry's port ("registry:5000/app") is
 * not a tag: only a colon after the last slash is.
 */
export function pullPath(image: string): string {
  const name = image.slice(image.lastIndexOf("/") + 1);
  const tagged = image.includes("@") || name.includes(":");
  return `/images/create?fromImage=${encodeURIComponent(image)}${tagged ? "" : "&tag=latest"}`;
}

function downloaded(layers: Map<string, { current: number; total: number }>): string {
  let current = 0;
  let total = 0;
  for (const l of layers.values()) {
    current += l.current;
    total += l.total;
  }
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return `${mb(current)} of ${mb(total)} MB downloaded (${layers.size} layer(s))`;
}
