/** Smoke checks: the last proof, after health, that a new color works before it gets traffic. */

import type { SmokeCheckConfig } from "../config/schema.ts";
import { requestOnce } from "../health/request-once.ts";
import { inheritedEnv } from "../runtime/process/child-env.ts";
import { commandText, runCommand } from "./run-command.ts";

export interface SmokeTarget {
  readonly service: string;
  readonly color: string;
  readonly version: string;
  /** Every instance of the new color, http://host:port. */
  readonly urls: readonly string[];
  /** Working directory for command checks. */
  readonly cwd: string;
}

export interface SmokeResult {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** One line for people: "GET /api/ping on http://127.0.0.1:4001: 200", "exit code 3". */
  readonly detail: string;
  /** Command checks: the last lines of combined stdout and stderr. */
  readonly output?: string[];
}

export interface SmokeReport {
  readonly ok: boolean;
  /** Only the checks that ran: the run stops at the first failure. */
  readonly results: SmokeResult[];
}

/** Response bodies are searched for expectBody within their first this-many bytes. */
const MAX_SMOKE_BODY_BYTES = 1024 * 1024;

/**
 * Runs checks in order and stops at the first failure. An http check asks every instance; a
 * command check runs once. Rejects only with the signal's reason when aborted (after killing any
 * running command).
 */
export async function runSmokeChecks(
  checks: readonly SmokeCheckConfig[],
  target: SmokeTarget,
  signal?: AbortSignal,
): Promise<SmokeReport> {
  const results: SmokeResult[] = [];
  for (const check of checks) {
    signal?.throwIfAborted();
    const startedMs = performance.now();
    const outcome =
      "http" in check
        ? await runHttpCheck(check, target, signal)
        : await runCommandCheck(check, target, signal);
    signal?.throwIfAborted();
    const name = check.name ?? defaultName(check);
    results.push({ name, ...outcome, durationMs: Math.round(performance.now() - startedMs) });
    if (!outcome.ok) return { ok: false, results };
  }
  return { ok: true, results };
}

type HttpCheck = Extract<SmokeCheckConfig, { http: unknown }>;
type CommandCheck = Extract<SmokeCheckConfig, { command: unknown }>;
type CheckOutcome = Omit<SmokeResult, "name" | "durationMs">;

function defaultName(check: SmokeCheckConfig): string {
  if ("http" in check) return `${check.http.method} ${check.http.path}`;
  return commandText(check.command);
}

async function runHttpCheck(
  check: HttpCheck,
  target: SmokeTarget,
  signal?: AbortSignal,
): Promise<CheckOutcome> {
  const { method, path } = check.http;
  if (target.urls.length === 0) return { ok: false, detail: `${method} ${path}: no instances to check` };
  // Every instance at once; the report names the first failing one in instance order.
  const answers = await Promise.all(target.urls.map((url) => askInstance(check, url, signal)));
  const failed = answers.find((answer) => !answer.ok);
  const lines = failed ? [failed] : answers;
  return { ok: !failed, detail: lines.map((a) => `${method} ${path} on ${a.url}: ${a.text}`).join("; ") };
}

async function askInstance(
  check: HttpCheck,
  url: string,
  signal?: AbortSignal,
): Promise<{ url: string; ok: boolean; text: string }> {
  const { method, path, headers, body, expectStatus, expectBody } = check.http;
  const result = await requestOnce(`${url.replace(/\/+$/, "")}${path}`, {
    method,
    headers,
    body,
    timeoutMs: check.timeoutMs,
    maxBodyBytes: MAX_SMOKE_BODY_BYTES,
    signal,
  });
  if (!result.ok) return { url, ok: false, text: result.reason };
  const { status, body: received } = result.reply;
  if (!expectStatus.includes(status)) {
    return { url, ok: false, text: `status ${status} (expected ${expectStatus.join(" or ")})` };
  }
  if (expectBody !== undefined && !received.toString("utf8").includes(expectBody)) {
    return { url, ok: false, text: `body does not contain ${JSON.stringify(expectBody)}` };
  }
  return { url, ok: true, text: String(status) };
}

/** The command's environment: teal's own minus its settings and secrets, plus where the new color answers. */
function commandEnv(target: SmokeTarget): NodeJS.ProcessEnv {
  return {
    ...inheritedEnv(),
    TEAL_URL: target.urls[0] ?? "",
    TEAL_URLS: target.urls.join(" "),
    TEAL_SERVICE: target.service,
    TEAL_COLOR: target.color,
    TEAL_VERSION: target.version,
  };
}

function runCommandCheck(
  check: CommandCheck,
  target: SmokeTarget,
  signal?: AbortSignal,
): Promise<CheckOutcome> {
  return runCommand({
    command: check.command,
    cwd: target.cwd,
    env: commandEnv(target),
    timeoutMs: check.timeoutMs,
    signal,
  });
}
