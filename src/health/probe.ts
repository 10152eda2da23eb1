/** One active health probe: a GET on a fresh connection, judged against the service's health config. */

import type { HealthConfig } from "../config/schema.ts";
import type { ProbeOutcome } from "../domain/health.ts";
import { type OneShotReply, requestOnce } from "./request-once.ts";

/** Health bodies are small; a probe never reads more than this. */
const MAX_HEALTH_BODY_BYTES = 64 * 1024;

export interface ProbeOptions {
  /** When set and health.versionField is set, the body must report exactly this version. */
  readonly expectedVersion?: string;
  /** Aborting ends the probe at once; it then resolves as failed with reason "aborted". */
  readonly signal?: AbortSignal;
  /** Wall clock for atMs and latencyMs; default Date.now. */
  readonly now?: () => number;
}

/**
 * Probes url + health.path once. A new connection every time (no keep-alive), so a listener that
 * died is noticed at once; health.timeoutMs covers connect, headers and body. Never rejects: a
 * failed probe is an outcome with a short human `reason`.
 */
export async function probe(
  url: string,
  health: HealthConfig,
  options: ProbeOptions = {},
): Promise<ProbeOutcome> {
  const now = options.now ?? Date.now;
  const startedMs = now();
  const result = await requestOnce(`${url.replace(/\/+$/, "")}${health.path}`, {
    timeoutMs: health.timeoutMs,
    maxBodyBytes: MAX_HEALTH_BODY_BYTES,
    headers: { accept: "application/json, */*;q=0.5" },
    signal: options.signal,
  });
  const finishedMs = now();
  const timing = { atMs: finishedMs, latencyMs: Math.max(0, finishedMs - startedMs) };
  if (!result.ok) return { ok: false, ...timing, reason: result.reason };
  return { ...timing, ...judge(result.reply, health, options.expectedVersion) };
}

type Verdict = Omit<ProbeOutcome, "atMs" | "latencyMs">;

function judge(reply: OneShotReply, health: HealthConfig, expectedVersion: string | undefined): Verdict {
  // Without a configured field, a top-level "version" is still worth showing in status.
  const field = health.versionField ?? "version";
  const reported = readField(reply, field);
  const seen = {
    status: reply.status,
    ...(reported.kind === "found" ? { version: reported.value } : {}),
  };
  if (!health.expectStatus.includes(reply.status)) {
    return {
      ok: false,
      ...seen,
      reason: `status ${reply.status} (expected ${health.expectStatus.join(" or ")})`,
    };
  }
  if (health.versionField === undefined || expectedVersion === undefined) return { ok: true, ...seen };
  switch (reported.kind) {
    case "found":
      return reported.value === expectedVersion
        ? { ok: true, ...seen }
        : { ok: false, ...seen, reason: `version "${reported.value}" (expected "${expectedVersion}")` };
    case "too-large":
      return { ok: false, ...seen, reason: `body is over 64 KiB (needed for versionField "${field}")` };
    case "not-json":
      return { ok: false, ...seen, reason: `body is not JSON (needed for versionField "${field}")` };
    case "missing":
      return { ok: false, ...seen, reason: `no field "${field}" in the body` };
  }
}

type FieldRead =
  | { kind: "found"; value: string }
  | { kind: "missing" }
  | { kind: "not-json" }
  | { kind: "too-large" };

/** The value at a dotted path ("build.version") of a JSON body, as a string. */
function readField(reply: OneShotReply, path: string): FieldRead {
  if (reply.truncated) return { kind: "too-large" };
  let value: unknown;
  try {
    value = JSON.parse(reply.body.toString("utf8"));
  } catch {
    return { kind: "not-json" };
  }
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return { kind: "missing" };
    value = (value as Record<string, unknown>)[key];
  }
  return value === null || value === undefined
    ? { kind: "missing" }
    : { kind: "found", value: String(value) };
}
