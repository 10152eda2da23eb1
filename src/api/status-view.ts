/** The status document served by GET /v1/status and rendered by `teal status`. */

import type { TealConfig } from "../config/schema.ts";
import type { ServiceDeployView } from "../deploy/deploy-view.ts";
import { COLORS, type Color } from "../domain/color.ts";
import type { Deployment, DeploymentMigration, RolloutStatus } from "../domain/deployment.ts";
import { quantileMs } from "../domain/latency-histogram.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import type { TlsCertificateView } from "../proxy/tls/certificate-views.ts";
import type { ColorStatsSnapshot } from "../traffic/color-stats.ts";
import type { ServiceRuntimeStatus } from "../traffic/status.ts";

export interface TrafficView {
  readonly requests: number;
  readonly byClass: { "1xx": number; "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  readonly clientAborted: number;
  readonly inFlight: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
}

/** The deployment facts `teal status` shows: the running one, or else the last one. */
export interface DeploymentSummary {
  readonly seq: number;
  readonly kind: Deployment["kind"];
  readonly version: string;
  readonly color: Color;
  readonly phase: Deployment["phase"];
  readonly outcome: Deployment["outcome"];
  readonly reason: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Strategy, step, weight, and each check's latest value and verdict. */
  readonly rollout: RolloutStatus | null;
  /** Its schema migration and phase (expanding … done, rolled_back); null without one. */
  readonly migration: DeploymentMigration | null;
}

export interface ServiceStatusView {
  readonly name: string;
  readonly runtime: string;
  /** What runs on each color: version, state, instances with health. */
  readonly colors: ServiceDeployView["colors"];
  readonly deployment: DeploymentSummary | null;
  /** Problems an operator must see at once, e.g. a live color with no running instance. */
  readonly alerts: string[];
  /**
   * True for a managed service with no version on either color yet: its live color has no
   * instance because nothing was deployed, which is not an outage (`teal deploy` puts one live).
   */
  readonly nothingDeployed: boolean;
  readonly routing: RoutingState;
  readonly weights: Record<Color, number>;
  readonly routes: TealConfig["services"][string]["routes"];
  readonly endpoints: ServiceRuntimeStatus["endpoints"];
  readonly drains: ServiceRuntimeStatus["drains"];
  readonly held: number;
  readonly traffic: Record<Color, TrafficView>;
}

export interface StatusView {
  readonly proxy: string;
  /** proxy.tls's listener (the HTTPS one beside `proxy`); null without proxy.tls. */
  readonly proxyTls: string | null;
  readonly generation: number;
  readonly services: ServiceStatusView[];
  /** With proxy.tls: every certificate the TLS listener serves (app.ts adds it). */
  readonly tls?: { readonly certificates: readonly TlsCertificateView[] };
}

export interface StatusSources {
  readonly config: TealConfig;
  readonly routing: (service: string) => RoutingState;
  readonly runtime: readonly ServiceRuntimeStatus[];
  readonly deploy: (service: string) => ServiceDeployView;
  /** The running deployment of each service, or its last one. */
  readonly deployments: ReadonlyMap<string, Deployment>;
  readonly proxy: string;
  readonly proxyTls: string | null;
  readonly generation: number;
}

export function statusView(src: StatusSources): StatusView {
  const { config, routing, runtime, proxy, proxyTls, generation } = src;
  const byName = new Map(runtime.map((r) => [r.service, r]));
  return {
    proxy,
    proxyTls,
    generation,
    services: Object.entries(config.services).map(([name, svc]) => {
      const state = routing(name);
      const rt = byName.get(name);
      const deploy = src.deploy(name);
      const d = src.deployments.get(name);
      const nothingDeployed = neverDeployed(deploy);
      return {
        name,
        runtime: deploy.runtime,
        colors: deploy.colors,
        deployment: d ? summary(d) : null,
        alerts: nothingDeployed ? [] : alerts(name, state, deploy),
        nothingDeployed,
        routing: state,
        weights: { blue: weightOf(state, "blue"), green: weightOf(state, "green") },
        routes: svc.routes,
        endpoints: rt?.endpoints ?? [],
        drains: rt?.drains ?? [],
        held: rt?.held ?? 0,
        traffic: { blue: trafficView(rt?.stats.blue), green: trafficView(rt?.stats.green) },
      };
    }),
  };
}

function summary(d: Deployment): DeploymentSummary {
  const { seq, kind, version, color, phase, outcome, reason, startedAt, finishedAt } = d;
  return {
    seq,
    kind,
    version,
    color,
    phase,
    outcome,
    reason,
    startedAt,
    finishedAt,
    rollout: d.rollout ?? null,
    migration: d.migration ?? null,
  };
}

function neverDeployed(deploy: ServiceDeployView): boolean {
  if (deploy.runtime === "static") return false;
  return COLORS.every((c) => deploy.colors[c].version === null && deploy.colors[c].instances.length === 0);
}

function alerts(name: string, state: RoutingState, deploy: ServiceDeployView): string[] {
  const out: string[] = [];
  for (const color of COLORS) {
    if (weightOf(state, color) === 0 || deploy.runtime === "static") continue;
    const instances = deploy.colors[color].instances;
    if (instances.length === 0 || instances.every((i) => !i.alive)) {
      out.push(`LIVE COLOR DOWN: ${name} sends traffic to ${color}, which has no running instance`);
    } else if (!deploy.colors[color].ready) {
      out.push(`${name} ${color} carries traffic but is not healthy: ${deploy.colors[color].notReadyReason}`);
    }
  }
  return out;
}

function trafficView(s: ColorStatsSnapshot | undefined): TrafficView {
  const c = s?.byClass ?? [0, 0, 0, 0, 0, 0];
  const round = (v: number | undefined) => (v === undefined ? null : Math.round(v * 1000) / 1000);
  const buckets = s?.latencyBuckets ?? [];
  return {
    requests: c.reduce((a, b) => a + b, 0) + (s?.clientAborted ?? 0),
    byClass: { "1xx": c[1]!, "2xx": c[2]!, "3xx": c[3]!, "4xx": c[4]!, "5xx": c[5]! },
    clientAborted: s?.clientAborted ?? 0,
    inFlight: s?.inFlight ?? 0,
    bytesIn: s?.bytesIn ?? 0,
    bytesOut: s?.bytesOut ?? 0,
    p50Ms: round(quantileMs(buckets, 0.5)),
    p90Ms: round(quantileMs(buckets, 0.9)),
    p99Ms: round(quantileMs(buckets, 0.99)),
  };
}
