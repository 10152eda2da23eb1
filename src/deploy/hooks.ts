/** Lifecycle hooks: the user's own commands and HTTP calls at fixed points of a deployment. */

import type { HookConfig } from "../config/schema.ts";
import { requestOnce } from "../health/request-once.ts";
import { inheritedEnv } from "../runtime/process/child-env.ts";
import { runSteps, type StepOutcome, type StepReport, type StepResult } from "./steps.ts";

export type HookPoint = "beforeTraffic" | "afterTraffic" | "onPromote" | "onRollback";

export interface HookContext {
  readonly point: HookPoint;
  readonly service: string;
  readonly version: string;
  /** The color being deployed. */
  readonly color: string;
  /** The color serving traffic before this deployment. */
  readonly stableColor: string;
  readonly deploymentSeq: number;
  /** Every instance of the new color, http://host:port. */
  readonly urls: readonly string[];
  /** Working directory for command hooks. */
  readonly cwd: string;
}

/** One hook's result: its name, ok, duration, a one-line detail and, for a failing HTTP hook, the body. */
export type HookResult = StepResult;

/** Only the hooks that ran: the run stops at the first failure. */
export type HookReport = StepReport;

/** A failing HTTP hook's response body is kept up to this many bytes, as at most OUTPUT_LINES lines. */
const MAX_REPLY_BYTES = 4_096;
const OUTPUT_LINES = 20;

/**
 * Runs hooks in order and stops at the first failure. Rejects only with the signal's reason when
 * aborted (after killing any running command).
 */
export async function runHooks(
  hooks: readonly HookConfig[],
  context: HookContext,
  signal?: AbortSignal,
): Promise<HookReport> {
  return runSteps<HttpHook>(
    hooks,
    {
      http: (hook, stepSignal) => runHttpHook(hook, context, stepSignal),
      httpName: (hook) => `${hook.http.method} ${hook.http.url}`,
      command: { cwd: context.cwd, env: hookEnv(context) },
    },
    signal,
  );
}

type HttpHook = Extract<HookConfig, { http: unknown }>;

/** teal's environment minus its settings and secrets, plus what is being deployed and where it answers. */
function hookEnv(context: HookContext): NodeJS.ProcessEnv {
  return {
    ...inheritedEnv(),
    TEAL_HOOK: context.point,
    TEAL_SERVICE: context.service,
    TEAL_VERSION: context.version,
    TEAL_COLOR: context.color,
    TEAL_STABLE_COLOR: context.stableColor,
    TEAL_DEPLOYMENT: String(context.deploymentSeq),
    TEAL_URL: context.urls[0] ?? "",
    TEAL_URLS: context.urls.join(" "),
  };
}

async function runHttpHook(hook: HttpHook, context: HookContext, signal?: AbortSignal): Promise<StepOutcome> {
  const { url, method } = hook.http;
  const { body, headers } = requestBody(hook, context);
  const result = await requestOnce(url, {
    method,
    headers,
    body,
    timeoutMs: hook.timeoutMs,
    maxBodyBytes: MAX_REPLY_BYTES,
    signal,
  });
  if (!result.ok) return { ok: false, detail: result.reason };
  const { status, body: reply } = result.reply;
  if (status >= 200 && status < 300) return { ok: true, detail: `status ${status}` };
  const output = reply.toString("utf8").split("\n").filter(Boolean).slice(0, OUTPUT_LINES);
  return { ok: false, detail: `status ${status}`, ...(output.length > 0 && { output }) };
}

/**
 * The configured body as is, or by default a JSON description of the deployment. A GET gets no
 * default body: many servers refuse a GET that carries one.
 */
function requestBody(
  hook: HttpHook,
  context: HookContext,
): { body: string | undefined; headers: Record<string, string> } {
  const configured = hook.http.headers;
  let body = hook.http.body;
  const headers: Record<string, string> = { "user-agent": "teal" };
  if (body === undefined && hook.http.method !== "GET") {
    body = JSON.stringify({
      hook: context.point,
      service: context.service,
      version: context.version,
      color: context.color,
      stableColor: context.stableColor,
      deployment: context.deploymentSeq,
    });
    headers["content-type"] = "application/json";
  }
  // The user's headers win over the defaults, whatever their case; the length is always ours.
  for (const [name, value] of Object.entries(configured)) {
    const lower = name.toLowerCase();
    if (lower !== "content-length") headers[lower] = value;
  }
  if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
  return { body, headers };
}
