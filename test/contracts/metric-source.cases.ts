/**
 * The one behaviour contract every MetricSource adapter passes (teal's proxy stats, Prometheus,
 * a web metric): a value, no data, the source down, the source too slow. A source never rejects:
 * whatever goes wrong is a Measurement with an error, which the analysis counts. An adapter's test
 * file calls runMetricSourceContract with a harness; nothing here knows which adapter it tests.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { MeasureContext, MetricSource } from "../../src/analysis/metric-source.ts";
import type { CheckConfig } from "../../src/config/schema.ts";

/** One measurement to take: a source (built for the case), a check it serves and its context. */
export interface MetricCase {
  readonly source: MetricSource;
  readonly check: CheckConfig;
  readonly context: MeasureContext;
}

/** What an adapter's test file hands the contract. */
export interface MetricSourceHarness {
  /** A check whose source holds `value` for the new color. */
  valued(): Promise<MetricCase & { readonly value: number }>;
  /**
   * A check over a source that has nothing for it. `error`: the adapter reports that as an error
   * (a web endpoint's JSON without the field) rather than as no value (inconclusive).
   */
  empty(): Promise<MetricCase & { readonly error?: RegExp }>;
  /** A check whose source cannot be reached, and the error that names it. */
  down(): Promise<MetricCase & { readonly error: RegExp }>;
  /** A check whose source does not answer, the bound after which the adapter gives up, and its error. */
  stalled(): Promise<MetricCase & { readonly timeoutMs: number; readonly error: RegExp }>;
}

/** The context every harness measures in: service "web", green (v2) rolled out next to blue. */
export const CONTEXT: MeasureContext = {
  service: "web",
  color: "green",
  stableColor: "blue",
  version: "v2",
  windowMs: 60_000,
};

/** Registers the contract suite for one adapter; `setUp` runs once before it (start Prometheus, say). */
export function runMetricSourceContract(
  name: string,
  setUp: () => Promise<{ harness: MetricSourceHarness; tearDown: () => Promise<void> }>,
): void {
  describe(`${name} metric source contract`, () => {
    let harness: MetricSourceHarness;
    let tearDown = async () => {};
    before(async () => {
      ({ harness, tearDown } = await setUp());
    });
    after(() => tearDown());

    const measure = ({ source, check, context }: MetricCase) => source.measure(check, context);

    it("measures the value its source holds for the new color", async () => {
      const c = await harness.valued();
      const m = await measure(c);
      assert.equal(m.error, undefined);
      assert.equal(m.value, c.value);
    });

    it("answers no value when its source has nothing for the check", async () => {
      const c = await harness.empty();
      const m = await measure(c);
      assert.equal(m.value, null);
      if (c.error) assert.match(m.error ?? "", c.error);
      else assert.equal(m.error, undefined, "no data is inconclusive, not an error");
    });

    it("answers an error naming the source, without rejecting, when the source is down", async () => {
      const c = await harness.down();
      const m = await measure(c);
      assert.equal(m.value, null);
      assert.match(m.error ?? "", c.error);
    });

    it("answers an error once its bound has passed, without rejecting, when the source does not answer", async () => {
      const c = await harness.stalled();
      const startedMs = performance.now();
      const m = await measure(c);
      const tookMs = performance.now() - startedMs;
      assert.equal(m.value, null);
      assert.match(m.error ?? "", c.error);
      assert.ok(tookMs >= c.timeoutMs * 0.9, `gave up after ${Math.round(tookMs)} ms, before ${c.timeoutMs}`);
    });
  });
}
