/** Smoke checks: the last proof, after health, that a new color works before it gets traffic. */

import type { SmokeCheckConfig } from "../config/schema.ts";
import { requestOnce } from "../health/request-once.ts";
import { inheritedEnv } from "../runtime/process/child-env.ts";
import { runSteps, type StepOutcome, type StepReport, type StepResult } from "./steps.ts";

export interface SmokeTarget {
  readonly service: string;
  readonly color: string;
  readonly version: string;
  /** Every instance of the new color, http://host:port. */
  readonly urls: readonly string[];
  /** Working directory for command checks. */
  readonly cwd: string;
}

/** One check's result: its name, ok, duration, and a one-line detail ("GET /api/ping on http://127.0.0.1:4001: 200", "exit code 3"). */
export type SmokeResult = StepResult;

/** Only the checks that ran: the run stops at the first failure. */
export type SmokeReport = StepReport;

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
  return runSteps<HttpCheck>(
    checks,
    {
      http: (check, stepSignal) => runHttpCheck(check, target, stepSignal),
      httpName: (check) => `${check.http.method} ${check.http.path}`,
      command: { cwd: target.cwd, env: commandEnv(target) },
    },
    signal,
  );
}

type HttpCheck = Extract<SmokeCheckConfig, { http: unknown }>;

async function runHttpCheck(
  check: HttpCheck,
  target: SmokeTarget,
  signal?: AbortSignal,
): Promise<StepOutcome> {
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
