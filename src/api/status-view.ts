/** The status document served by GET /v1/status and rendered by `teal status`. */

import type { TealConfig } from "../config/schema.ts";
import type { Color } from "../domain/color.ts";
import { quantileMs } from "../domain/latency-histogram.ts";
import { type RoutingState, weightOf } from "../domain/routing.ts";
import type { ColorStatsSnapshot } from "../proxy/color-stats.ts";
import type { ServiceRuntimeStatus } from "../proxy/data-plane.ts";

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

export interface ServiceStatusView {
  readonly name: string;
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
  readonly generation: number;
  readonly services: ServiceStatusView[];
}

export function statusView(
  config: TealConfig,
  routing: (service: string) => RoutingState,
  runtime: readonly ServiceRuntimeStatus[],
  proxy: string,
  generation: number,
): StatusView {
  const byName = new Map(runtime.map((r) => [r.service, r]));
  return {
    proxy,
    generation,
    services: Object.entries(config.services).map(([name, svc]) => {
      const state = routing(name);
      const rt = byName.get(name);
      return {
        name,
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
