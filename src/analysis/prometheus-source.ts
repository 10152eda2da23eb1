/**
 * Prometheus as a metric source: one instant query (`/api/v1/query`) per measurement, its first
 * sample being the value. An empty result is no value (inconclusive), not an error.
 */

import type { CheckConfig } from "../config/schema.ts";
import type { Measurement } from "../domain/analysis.ts";
import type { MeasureContext, MetricSource } from "./metric-source.ts";
import { fillPlaceholders, httpGet } from "./web-source.ts";

/** A query that should answer one number; a bigger answer means it selects far too many series. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface PrometheusSourceOptions {
  /** Per query: connect, answer and body. Default 5000. */
  readonly fetchTimeoutMs?: number;
}

/** The parts of Prometheus's query API answer that we read. */
interface QueryAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

export class PrometheusSource implements MetricSource {
  readonly #timeoutMs: number;

  constructor(options: PrometheusSourceOptions = {}) {
    this.#timeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  /**
   * Fills the query's placeholders ({{service}}, {{color}}, {{stableColor}}, {{version}},
   * {{window}} as e.g. "60s") and runs it. The query should aggregate to one series: of several,
   * the first one Prometheus lists is taken. sampleSize is always null (Prometheus does not say).
   */
  async measure(check: CheckConfig, ctx: MeasureContext): Promise<Measurement> {
    const prometheus = check.prometheus;
    if (prometheus === undefined) return failed("not a Prometheus check");
    const query = fillPlaceholders(prometheus.query, ctx);
    if (!query.ok) return failed(`${query.reason} in the Prometheus query`);
    const address = prometheus.address.replace(/\/+$/, "");
    const url = `${address}/api/v1/query?query=${encodeURIComponent(query.text)}`;

    const got = await httpGet(url, {
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      signal: ctx.signal,
    });
    if (!got.ok) return failed(`Prometheus at ${address}: ${got.reason}`);
    if (got.truncated) return failed(`Prometheus answered over 4 MiB; make the query return one series`);
    let answer: QueryAnswer;
    try {
      answer = JSON.parse(got.body) as QueryAnswer;
    } catch {
      return failed(`Prometheus at ${address} answered HTTP ${got.status} without a JSON body`);
    }
    // Prometheus answers query errors with 400/422/503 and a JSON body that says why.
    if (answer?.status === "error") {
      return failed(`Prometheus ${String(answer.errorType ?? "error")}: ${String(answer.error ?? "")}`);
    }
    if (got.status < 200 || got.status > 299 || answer?.status !== "success") {
      return failed(`Prometheus at ${address} answered HTTP ${got.status}`);
    }
    return sampleValue(answer.data);
  }
}

function sampleValue(data: QueryAnswer["data"]): Measurement {
  const { resultType, result } = data ?? {};
  let sample: unknown;
  if (resultType === "scalar") sample = result;
  else if (resultType === "vector" && Array.isArray(result)) {
    if (result.length === 0) return { value: null, sampleSize: null };
    sample = (result[0] as { value?: unknown } | null)?.value;
  } else {
    return failed(`query returned a ${String(resultType)}, not an instant vector or scalar`);
  }
  // A sample is [unix seconds, "value as text"].
  const text = Array.isArray(sample) ? sample[1] : undefined;
  if (typeof text !== "string") return failed("Prometheus answered a sample without a value");
  const value = Number.parseFloat(text);
  if (!Number.isFinite(value)) return failed("query returned NaN");
  return { value, sampleSize: null };
}

function failed(error: string): Measurement {
  return { value: null, sampleSize: null, error };
}
