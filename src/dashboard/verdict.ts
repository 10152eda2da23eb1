/**
 * The one-line answer to "is the new version winning?": from the rollout's check verdicts (the
 * server's judgement) and the last seconds of samples of both colors (the evidence).
 */

import type { LiveSample } from "../api/live/live-types.ts";
import type { ServiceStatusView } from "../api/status-view.ts";
import type { Color } from "../domain/color.ts";
import type { CheckView } from "../domain/deployment.ts";
import { formatMs, formatPercent, formatValue } from "./format.ts";

export type Tone = "good" | "warn" | "bad" | "neutral";

export interface Verdict {
  readonly tone: Tone;
  readonly text: string;
}

/** Samples that make up the comparison window. */
const WINDOW = 10;

export function verdictOf(s: ServiceStatusView, samples: readonly LiveSample[]): Verdict | null {
  const d = s.deployment;
  if (!d) return null;
  const label = `${d.color} ${d.version}`;
  if (d.outcome === "rolled_back")
    return { tone: "bad", text: `${label} rolled back: ${d.reason ?? "no reason given"}` };
  if (d.outcome === "failed")
    return { tone: "bad", text: `${label} failed: ${d.reason ?? "no reason given"}` };
  if (d.outcome === "succeeded")
    return { tone: "neutral", text: `${label} is live (deployment #${d.seq} succeeded)` };
  const failing = d.rollout?.checks.find((c) => c.result === "failed" || c.last?.verdict === "fail");
  if (failing) {
    // One failed measurement may still be within the check's failureLimit.
    const next = failing.result === "failed" ? "rolling back" : "watching";
    return { tone: "bad", text: `failing check ${failing.name}: ${checkText(failing)}; ${next}` };
  }
  if (!d.rollout) return { tone: "neutral", text: `deploying ${label}: ${d.phase}` };
  const stable: Color = d.color === "blue" ? "green" : "blue";
  const fresh = windowOf(s.name, d.color, samples);
  const old = windowOf(s.name, stable, samples);
  if (fresh.requests === 0)
    return { tone: "warn", text: `${label}: no traffic yet at ${d.rollout.weight}% (${d.rollout.stepText})` };
  const inconclusive = d.rollout.checks.some((c) => c.last?.verdict === "inconclusive");
  const worse =
    fresh.errorRate > old.errorRate + 0.001 ||
    (fresh.p99Ms ?? 0) > 1.5 * (old.p99Ms ?? Number.POSITIVE_INFINITY);
  const tone: Tone = worse || inconclusive ? "warn" : "good";
  const word = worse ? "behind" : inconclusive ? "too early to tell" : "winning";
  return {
    tone,
    text: `${label} ${word}: error rate ${formatPercent(fresh.errorRate)} vs ${formatPercent(old.errorRate)} stable, p99 ${formatMs(fresh.p99Ms)} vs ${formatMs(old.p99Ms)}`,
  };
}

const VERDICT_WORD = {
  pass: "within",
  fail: "outside",
  inconclusive: "too few requests for",
  error: "no measurement for",
};

/** "errorRate 7% (stable 1%) outside max 5%" style text: the latest value against the thresholds. */
export function checkText(c: CheckView): string {
  const thresholds = [
    ...Object.entries(c.thresholds)
      .filter(([k]) => k !== "minRequests")
      .map(([k, v]) => `${k} ${formatValue(c.metric, v, k)}`),
    ...(c.compare ? [compareLimits(c.metric, c.compare)] : []),
  ].join(", ");
  if (!c.last) return `no value yet (${thresholds})`;
  const k = c.last.comparison;
  if (k) {
    const effect =
      k.test === "fisher" ? `${k.effect >= 0 ? "+" : ""}${formatPercent(k.effect)}` : `×${round2(k.effect)}`;
    const figures = `${formatValue(c.metric, k.canary)} vs ${formatValue(c.metric, k.stable)} stable`;
    const test = k.test === "fisher" ? "Fisher" : "van Elteren";
    return `${c.metric} ${effect} (${figures}, ${k.slices} s side by side; ${test} p ${formatP(k.pValue)}) ${VERDICT_WORD[c.last.verdict]} ${thresholds}`;
  }
  const value = c.last.value === null ? "n/a" : formatValue(c.metric, c.last.value);
  const stable = c.last.stableValue === null ? "" : ` (stable ${formatValue(c.metric, c.last.stableValue)})`;
  return `${c.metric} ${value}${stable} ${VERDICT_WORD[c.last.verdict]} ${thresholds}`;
}

/** "tolerance ×1.1 at 95% confidence" or "tolerance +1% at 95% confidence". */
function compareLimits(metric: string, c: NonNullable<CheckView["compare"]>): string {
  const tolerance = /error/i.test(metric) ? `+${formatPercent(c.tolerance)}` : `×${round2(1 + c.tolerance)}`;
  return `tolerance ${tolerance} at ${round2(c.confidence * 100)}% confidence`;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const formatP = (p: number) => (p < 0.0001 ? "< 0.0001" : String(Number(p.toPrecision(2))));

interface WindowFigures {
  readonly requests: number;
  readonly errorRate: number;
  readonly p99Ms: number | null;
}

/** Request-weighted error rate, and the worst p99, over the last WINDOW samples. */
function windowOf(service: string, color: Color, samples: readonly LiveSample[]): WindowFigures {
  let requests = 0;
  let errors = 0;
  let p99: number | null = null;
  for (const sample of samples.slice(-WINDOW)) {
    const p = sample.services[service]?.[color];
    if (!p || p.rps === 0) continue;
    requests += p.rps;
    errors += (p.errorRate ?? 0) * p.rps;
    if (p.p99Ms !== null) p99 = Math.max(p99 ?? 0, p.p99Ms);
  }
  return { requests, errorRate: requests === 0 ? 0 : errors / requests, p99Ms: p99 };
}
