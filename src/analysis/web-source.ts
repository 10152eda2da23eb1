/**
 * A generic web metric as a metric source: GET a URL that answers JSON and read one number at a
 * dotted path. Also holds the GET and placeholder filling that the Prometheus source shares.
 */

import type { CheckConfig } from "../config/schema.ts";
import type { Measurement } from "../domain/analysis.ts";
import { requestOnce } from "../health/request-once.ts";
import type { MeasureContext, MetricSource } from "./metric-source.ts";

/** A metric answer is one number; anything past this is not a metric endpoint. */
const MAX_BODY_BYTES = 1024 * 1024;

export class WebSource implements MetricSource {
  async measure(check: CheckConfig, ctx: MeasureContext): Promise<Measurement> {
    const web = check.web;
    if (web === undefined) return failed("not a web metric check");
    const filled = fillPlaceholders(web.url, ctx, encodeURIComponent);
    if (!filled.ok) return failed(`${filled.reason} in the web URL`);
    const url = filled.text;

    const got = await httpGet(url, {
      headers: web.headers,
      timeoutMs: web.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      signal: ctx.signal,
    });
    if (!got.ok) return failed(`GET ${url}: ${got.reason}`);
    if (got.status < 200 || got.status > 299) return failed(`GET ${url} answered HTTP ${got.status}`);
    if (got.truncated) return failed(`GET ${url} answered more than 1 MiB`);
    let body: unknown;
    try {
      body = JSON.parse(got.body);
    } catch {
      return failed(`GET ${url} did not answer JSON`);
    }

    const found = atPath(body, web.jsonPath);
    if (!found.ok) return failed(`no "${web.jsonPath}" in the JSON from ${url}`);
    const value = toNumber(found.value);
    if (value === undefined) {
      return failed(`"${web.jsonPath}" is ${describe(found.value)}, not a number (from ${url})`);
    }
    return { value, sampleSize: null };
  }
}

function failed(error: string): Measurement {
  return { value: null, sampleSize: null, error };
}

/** Follows a dotted path; a segment of digits indexes an array (`results.0.value`). */
function atPath(root: unknown, path: string): { ok: true; value: unknown } | { ok: false } {
  let at = root;
  for (const key of path.split(".")) {
    if (Array.isArray(at) && /^\d+$/.test(key) && Number(key) < at.length) at = at[Number(key)];
    else if (at !== null && typeof at === "object" && !Array.isArray(at) && Object.hasOwn(at, key)) {
      at = (at as Record<string, unknown>)[key];
    } else return { ok: false };
  }
  return { ok: true, value: at };
}

/** A finite number, or a string holding one ("0.25"); anything else is undefined. */
function toNumber(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A Prometheus duration for a window: whole seconds as "60s", otherwise milliseconds ("1500ms"). */
export function promDuration(windowMs: number): string {
  const ms = Math.max(1, Math.round(windowMs));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/**
 * Fills `{{service}}`, `{{color}}`, `{{stableColor}}`, `{{version}}` and `{{window}}` (a Prometheus
 * duration) in `template`, each value passed through `encode`. An unknown name is refused rather
 * than sent on, so a typo reads as itself instead of as the remote side's parse error.
 */
export function fillPlaceholders(
  template: string,
  ctx: MeasureContext,
  encode: (value: string) => string = (v) => v,
): { ok: true; text: string } | { ok: false; reason: string } {
  const values: Record<string, string> = {
    service: ctx.service,
    color: ctx.color,
    stableColor: ctx.stableColor,
    version: ctx.version,
    window: promDuration(ctx.windowMs),
  };
  let unknown: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) unknown ??= whole;
    return value === undefined ? whole : encode(value);
  });
  return unknown === undefined
    ? { ok: true, text }
    : {
        ok: false,
        reason: `unknown placeholder ${unknown} (known: {{service}}, {{color}}, {{stableColor}}, {{version}}, {{window}})`,
      };
}

export type HttpGetResult =
  | { ok: true; status: number; body: string; truncated: boolean }
  | { ok: false; reason: string };

/**
 * One GET that never rejects: http:// through requestOnce, https:// through fetch. The timeout
 * covers connect, headers and body; `reason` is short ("connection refused", "timed out after 5000 ms").
 */
export async function httpGet(
  url: string,
  options: {
    headers?: Readonly<Record<string, string>>;
    timeoutMs: number;
    maxBodyBytes: number;
    signal?: AbortSignal | undefined;
  },
): Promise<HttpGetResult> {
  if (!url.startsWith("https:")) {
    const r = await requestOnce(url, options);
    if (!r.ok) return r;
    return {
      ok: true,
      status: r.reply.status,
      body: r.reply.body.toString("utf8"),
      truncated: r.reply.truncated,
    };
  }
  if (options.signal?.aborted) return { ok: false, reason: "aborted" };
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const res = await fetch(url, { headers: options.headers, signal, redirect: "manual" });
    return { ok: true, status: res.status, ...(await readAtMost(res, options.maxBodyBytes)) };
  } catch (err) {
    if (options.signal?.aborted) return { ok: false, reason: "aborted" };
    if (timeout.aborted) return { ok: false, reason: `timed out after ${options.timeoutMs} ms` };
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    if (cause?.code === "ECONNREFUSED") return { ok: false, reason: "connection refused" };
    return { ok: false, reason: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

async function readAtMost(res: Response, maxBytes: number): Promise<{ body: string; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, so an endless body is not read to its end.
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > maxBytes) return { body: "", truncated: true };
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks).toString("utf8"), truncated: false };
}
