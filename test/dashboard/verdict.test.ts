import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkText } from "../../src/dashboard/verdict.ts";
import type { CheckView } from "../../src/domain/deployment.ts";

const base = {
  name: "latency",
  metric: "p99",
  thresholds: { minRequests: 20 },
  compare: { confidence: 0.95, tolerance: 0.1 },
  result: "running",
  passes: 3,
  failures: 0,
  inconclusives: 1,
} as const;
const last = {
  at: "2026-12-06T23:00:00.000Z",
  value: 4.2,
  stableValue: 2,
  sampleSize: 900,
  sharedSlices: 12,
};

describe("a compare check on the dashboard", () => {
  it("shows the effect, both figures, the seconds compared and the p-value against the tolerance", () => {
    const c: CheckView = {
      ...base,
      last: {
        ...last,
        verdict: "fail",
        reason: "",
        comparison: {
          test: "van-elteren",
          slices: 12,
          canary: 4.2,
          stable: 2,
          effect: 2.1,
          pValue: 0.00002,
        },
      },
    };
    assert.equal(
      checkText(c),
      "p99 ×2.1 (4.2 ms vs 2.0 ms stable, 12 s side by side; van Elteren p < 0.0001) outside tolerance ×1.1 at 95% confidence",
    );
  });

  it("shows an error-rate comparison in points", () => {
    const c: CheckView = {
      ...base,
      name: "errors",
      metric: "errorRate",
      compare: { confidence: 0.99, tolerance: 0.01 },
      last: {
        ...last,
        verdict: "pass",
        reason: "",
        comparison: { test: "fisher", slices: 8, canary: 0.004, stable: 0.002, effect: 0.002, pValue: 0.21 },
      },
    };
    assert.equal(
      checkText(c),
      "errorRate +0.20% (0.40% vs 0.20% stable, 8 s side by side; Fisher p 0.21) within tolerance +1.0% at 99% confidence",
    );
  });

  it("says what it waits for before any comparison", () => {
    const c: CheckView = { ...base, last: null };
    assert.equal(checkText(c), "no value yet (tolerance ×1.1 at 95% confidence)");
  });
});
