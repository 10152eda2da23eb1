/**
 * What the analysis scenario deploys: the five kinds of version (each a service of one teal with
 * its own route host and app instances), the example canary's checks in their threshold or
 * statistical form with durations shortened to seconds, and the teal.yaml that holds them.
 */
import path from "node:path";
import { repoRoot } from "../util.ts";

export type AnalysisForm = "threshold" | "compare";

export interface VersionKind {
  /** The service's name; its route host is hostOf(kind). */
  readonly name: string;
  readonly describe: string;
  /** What a sound analysis does with it. */
  readonly expect: "promote" | "rollback";
  /** The deploy's env: how this version differs from the live one. */
  readonly env: Readonly<Record<string, string>>;
  /** The errors start when the bench sees the version promoted to all traffic. */
  readonly errorsAfterPromotion?: boolean;
}

/** A host name has no underscores: slow1_3x is reached as slow1-3x.bench. */
export const hostOf = (k: VersionKind) => `${k.name.replaceAll("_", "-")}.bench`;

/** The live version answers after this much waiting on a timer (not CPU), so 2x and 1.3x mean something. */
export const BASE_DELAY_MS = 10;

export const KINDS: readonly VersionKind[] = [
  { name: "same", describe: "identical to the live version", expect: "promote", env: {} },
  { name: "errors", describe: "5% errors", expect: "rollback", env: { BENCH_ERROR_SHARE: "0.05" } },
  {
    name: "slow2x",
    describe: "2x latency",
    expect: "rollback",
    env: { BENCH_DELAY_MS: String(2 * BASE_DELAY_MS), BENCH_BAD: "all" },
  },
  {
    name: "slow1_3x",
    describe: "1.3x latency",
    expect: "rollback",
    env: { BENCH_DELAY_MS: String(1.3 * BASE_DELAY_MS), BENCH_BAD: "all" },
  },
  {
    name: "late",
    describe: "5% errors only after full promotion",
    expect: "rollback",
    env: { BENCH_ERROR_SHARE: "0.05", BENCH_ERRORS_ON_SIGNAL: "1" },
    errorsAfterPromotion: true,
  },
];

/** examples/canary.yaml's rollout and checks (its compare form, and the simple form beside it), with seconds where it has minutes. */
export const TIMINGS = {
  window: "8s",
  interval: "1s",
  // Relative checks judge whole seconds both colors served (at least 3, and 5 for compare at 95%),
  // so the analysis step lasts long enough for several verdicts at 20%.
  analysisStep: "8s",
  pause: "1s",
  monitor: "4s",
  warmup: "1s",
  text: "window 8s, checks every 1s, warmup 1s, steps 20% -> analysis 8s -> 50% -> pause 1s -> full, monitor 4s",
};

const CHECKS: Record<AnalysisForm, string> = {
  threshold: `        - { name: errors, metric: errorRate, max: 0.02, maxAboveStable: 0.01, interval: ${TIMINGS.interval}, minRequests: 20 }
        - { name: latency, metric: p50, maxRatioToStable: 1.2, interval: ${TIMINGS.interval}, minRequests: 20 }
        - { name: latency-tail, metric: p99, maxRatioToStable: 1.5, interval: ${TIMINGS.interval}, minRequests: 20, failureLimit: 1 }`,
  // The statistical form beside the example's absolute error ceiling: after full promotion the
  // stable color serves nothing, so only an absolute check can see errors that start then.
  compare: `        - { name: errors, metric: errorRate, compare: { confidence: 0.95, tolerance: 0.01 }, interval: ${TIMINGS.interval}, minRequests: 20 }
        - { name: errors-ceiling, metric: errorRate, max: 0.02, interval: ${TIMINGS.interval}, minRequests: 20 }
        - { name: latency, metric: p50, compare: { confidence: 0.99, tolerance: 0.1 }, interval: ${TIMINGS.interval}, minRequests: 20 }
        - { name: latency-tail, metric: p99, compare: { confidence: 0.99, tolerance: 0.1 }, interval: ${TIMINGS.interval}, minRequests: 20, failureLimit: 1 }`,
};

const APP = path.join(repoRoot, "bench", "servers", "analysis-app.mjs");

export function analysisConfig(p: {
  form: AnalysisForm;
  proxyPort: number;
  adminPort: number;
  marker: string;
}) {
  const services = KINDS.map(
    (k) => `  ${k.name}:
    routes: [{ host: ${hostOf(k)}, path: / }]
    runtime:
      type: process
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}, ${JSON.stringify(p.marker)}]
      env: { BENCH_DELAY_MS: "${BASE_DELAY_MS}" }
      stopTimeoutMs: 2000
    health: { intervalMs: 100, versionField: version }
    deployment: { timeoutMs: 30000, drainTimeoutMs: 2000, scaleDownDelayMs: 0 }
    strategy:
      canary:
        steps:
          - setWeight: 20
          - analysis: { duration: ${TIMINGS.analysisStep} }
          - setWeight: 50
          - pause: { duration: ${TIMINGS.pause} }
      monitor: ${TIMINGS.monitor}
    analysis:
      window: ${TIMINGS.window}
      warmup: ${TIMINGS.warmup}
      checks:
${CHECKS[p.form]}
`,
  );
  return `proxy:
  listen: 127.0.0.1:${p.proxyPort}
  workers: 1
  accessLog: false
admin:
  listen: 127.0.0.1:${p.adminPort}
services:
${services.join("")}`;
}
