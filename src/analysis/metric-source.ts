/**
 * The metric source port: one measurement of one check, for the new color (and the stable one,
 * for relative thresholds). Adapters: teal's own proxy metrics, Prometheus, a generic web metric.
 */

import type { CheckConfig } from "../config/schema.ts";
import type { Measurement } from "../domain/analysis.ts";
import type { Color } from "../domain/color.ts";

export interface MeasureContext {
  readonly service: string;
  /** The color being rolled out, and its version. */
  readonly color: Color;
  readonly version: string;
  readonly stableColor: Color;
  readonly windowMs: number;
  readonly signal?: AbortSignal;
}

export interface MetricSource {
  /** Never rejects: a source that cannot measure answers a Measurement with `error`. */
  measure(check: CheckConfig, context: MeasureContext): Promise<Measurement>;
}
