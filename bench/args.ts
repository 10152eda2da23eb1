import { parseArgs } from "node:util";

export const ALL_CANDIDATES = [
  "direct",
  "teal",
  "teal-node-http",
  "nginx",
  "haproxy",
  "http-proxy",
  "teal-nginx",
  "teal-haproxy",
] as const;
export const ALL_SCENARIOS = [
  "throughput",
  "c1000",
  "body100k",
  "services1000",
  "switch",
  "tls",
  "visibility",
  "switch-scale",
  "memory",
  "deploy",
  "analysis",
  "migrate-backfill",
  "fleet-propagation",
  "fleet-switch",
  "deploy-stores",
  "idle",
] as const;
/**
 * Left out of the default run: a 1,000,000-row backfill pair takes ~2.5 min per run; the fleet
 * scenarios start a 3-member etcd and three teal processes and take 1-3 min each (see README).
 */
const NOT_BY_DEFAULT: readonly string[] = [
  "migrate-backfill",
  "fleet-propagation",
  "fleet-switch",
  "deploy-stores",
];
export const DEFAULT_SCENARIOS = ALL_SCENARIOS.filter((s) => !NOT_BY_DEFAULT.includes(s));
export const ANALYSIS_FORMS = ["threshold", "compare", "both"] as const;
export type CandidateName = (typeof ALL_CANDIDATES)[number];
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

export interface BenchOptions {
  runs: number;
  durationS: number;
  warmupS: number;
  connections: number;
  only: CandidateName[];
  scenarios: ScenarioName[];
  json: boolean;
  tealWorkers: number | undefined;
  accessLog: boolean;
  transferMb: number;
  idleConnections: number;
  /** switch scenario: switches under load, at most one every switchEveryMs */
  switches: number;
  switchEveryMs: number;
  /** switch-scale scenario: timed switches of random services per worker count */
  scaleSwitches: number;
  /** idle scenario: how long teal with 1,000 services sits without traffic */
  idleMinutes: number;
  /** deploy scenario: back-to-back deploys under load, instant rollbacks, kill -9 restarts */
  deploys: number;
  rollbacks: number;
  restarts: number;
  /** analysis scenario: deployments of each kind of version, and which form of the checks */
  deployments: number;
  analysisForm: (typeof ANALYSIS_FORMS)[number];
  /** migrate-backfill scenario: rows in the table each way fills (one pair of runs per --runs) */
  backfillRows: number;
  /** fleet-propagation and fleet-switch scenarios: switches through the 3-node fleet */
  propagationSwitches: number;
  fleetSwitches: number;
  extra: boolean;
  keepTmp: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]
  --runs N            throughput runs per candidate, median reported (default 3)
  --duration S        seconds per wrk run (default 10)
  --warmup S          unreported warm-up per candidate before the runs (default 2, 0 = none)
  --connections N     wrk connections (default 50)
  --only a,b          candidates: ${ALL_CANDIDATES.join(",")} (default all)
  --scenarios a,b     scenarios: ${ALL_SCENARIOS.join(",")} (default all but ${NOT_BY_DEFAULT.join(",")})
  --json              print only a JSON array on stdout (progress on stderr)
  --teal-workers N    teal proxy worker processes (default: teal's own default, "auto")
  --no-access-log     turn teal's access log off, for A/B (default on: teal's default config)
  --access-log        keep it on (the default; accepted for old command lines)
  --transfer-mb N     size of the memory-scenario upload/download in MiB (default 1024)
  --idle-connections N  idle keep-alive connections in the memory scenario (default 5000, at most 15000)
  --switches N        switch scenario: switches under load (default 1000, at most 10000)
  --switch-every-ms N switch scenario: at most one switch per N ms (default 10)
  --scale-switches N  switch-scale scenario: timed switches per worker count (default 200, at most 2000)
  --idle-minutes M    idle scenario: minutes without traffic (default 10, fractions allowed, at most 60)
  --deploys N         deploy scenario: back-to-back deploys under load (default 5, at most 50)
  --rollbacks N       deploy scenario: instant rollbacks to time (default 3, 0 = none, at most 20)
  --restarts N        deploy scenario: kill -9 + restarts of teal to time (default 3, 0 = none, at most 20)
  --deployments N     analysis scenario: deployments of each of the 5 kinds of version (default 10, at most 100)
  --analysis-form F   analysis scenario: threshold, compare (statistical) or both (default both)
  --backfill-rows N   migrate-backfill scenario: rows of the table (default 1000000, at least 1000); --runs pairs
  --propagation-switches N  fleet-propagation: timed switches across the 3-node fleet (default 100, at most 2000)
  --fleet-switches N  fleet-switch: switches under load through the fleet's 3 proxies (default 1000, at most 10000)
  --extra             also run the teal-only scenarios (visibility, memory) on the peer proxies
  --keep-tmp          keep the temp dir (configs, logs) instead of deleting it
  -h, --help`;

function list<T extends string>(
  value: string | undefined,
  all: readonly T[],
  flag: string,
  byDefault: readonly T[] = all,
): T[] {
  if (!value) return [...byDefault];
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) if (!all.includes(n as T)) throw new Error(`${flag}: unknown name "${n}"`);
  return all.filter((n) => names.includes(n));
}

function oneOf<T extends string>(value: string | undefined, all: readonly T[], def: T, flag: string): T {
  if (value === undefined) return def;
  if (!all.includes(value as T))
    throw new Error(`${flag}: expected one of ${all.join(", ")}, got "${value}"`);
  return value as T;
}

function num(value: string | undefined, def: number, flag: string, min = 0, max = Infinity): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag}: expected a number >= ${min}, got "${value}"`);
  if (n > max) throw new Error(`${flag}: expected a number <= ${max}, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      only: { type: "string" },
      scenarios: { type: "string" },
      json: { type: "boolean", default: false },
      "teal-workers": { type: "string" },
      "access-log": { type: "boolean", default: false },
      "no-access-log": { type: "boolean", default: false },
      "transfer-mb": { type: "string" },
      "idle-connections": { type: "string" },
      switches: { type: "string" },
      "switch-every-ms": { type: "string" },
      "scale-switches": { type: "string" },
      "idle-minutes": { type: "string" },
      deploys: { type: "string" },
      rollbacks: { type: "string" },
      restarts: { type: "string" },
      deployments: { type: "string" },
      "analysis-form": { type: "string" },
      "backfill-rows": { type: "string" },
      "propagation-switches": { type: "string" },
      "fleet-switches": { type: "string" },
      extra: { type: "boolean", default: false },
      "keep-tmp": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (v.help) return null;
  if (v["access-log"] && v["no-access-log"])
    throw new Error("--access-log and --no-access-log: give one of them (the access log is on by default)");
  return {
    runs: Math.floor(num(v.runs, 3, "--runs", 1)),
    durationS: Math.floor(num(v.duration, 10, "--duration", 1)),
    warmupS: Math.floor(num(v.warmup, 2, "--warmup")),
    connections: Math.floor(num(v.connections, 50, "--connections", 1)),
    only: list(v.only, ALL_CANDIDATES, "--only"),
    scenarios: list(v.scenarios, ALL_SCENARIOS, "--scenarios", DEFAULT_SCENARIOS),
    json: v.json,
    tealWorkers:
      v["teal-workers"] === undefined
        ? undefined
        : Math.floor(num(v["teal-workers"], 1, "--teal-workers", 1)),
    accessLog: !v["no-access-log"],
    transferMb: num(v["transfer-mb"], 1024, "--transfer-mb", 1),
    idleConnections: Math.floor(num(v["idle-connections"], 5000, "--idle-connections", 1, 15_000)),
    switches: Math.floor(num(v.switches, 1000, "--switches", 1, 10_000)),
    switchEveryMs: num(v["switch-every-ms"], 10, "--switch-every-ms", 0, 10_000),
    scaleSwitches: Math.floor(num(v["scale-switches"], 200, "--scale-switches", 1, 2000)),
    idleMinutes: num(v["idle-minutes"], 10, "--idle-minutes", 0.05, 60),
    deploys: Math.floor(num(v.deploys, 5, "--deploys", 1, 50)),
    rollbacks: Math.floor(num(v.rollbacks, 3, "--rollbacks", 0, 20)),
    restarts: Math.floor(num(v.restarts, 3, "--restarts", 0, 20)),
    deployments: Math.floor(num(v.deployments, 10, "--deployments", 1, 100)),
    analysisForm: oneOf(v["analysis-form"], ANALYSIS_FORMS, "both", "--analysis-form"),
    backfillRows: Math.floor(num(v["backfill-rows"], 1_000_000, "--backfill-rows", 1000, 100_000_000)),
    propagationSwitches: Math.floor(num(v["propagation-switches"], 100, "--propagation-switches", 1, 2000)),
    fleetSwitches: Math.floor(num(v["fleet-switches"], 1000, "--fleet-switches", 1, 10_000)),
    extra: v.extra,
    keepTmp: v["keep-tmp"],
  };
}
