/** Prometheus text exposition of the proxy's per service-and-color counters. */

import { BUCKET_BOUNDS_MS } from "../domain/latency-histogram.ts";
import type { RoutingState } from "../domain/routing.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { ServiceRuntimeStatus } from "../traffic/status.ts";

const CLASSES = ["", "1xx", "2xx", "3xx", "4xx", "5xx"];

export function prometheusText(
  runtime: readonly ServiceRuntimeStatus[],
  routing: (s: string) => RoutingState,
  listener: ListenerStats,
): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family("teal_requests_total", "counter", "Completed proxied requests by status class.");
  for (const r of runtime) {
    for (const color of ["blue", "green"] as const) {
      r.stats[color].byClass.forEach((n, i) => {
        if (i > 0)
          out.push(`teal_requests_total{service="${r.service}",color="${color}",code="${CLASSES[i]}"} ${n}`);
      });
    }
  }
  simple(
    out,
    runtime,
    "teal_requests_client_aborted_total",
    "counter",
    "Requests the client abandoned (logged as 499).",
    (s) => s.clientAborted,
  );
  simple(out, runtime, "teal_requests_in_flight", "gauge", "Requests being proxied now.", (s) => s.inFlight);
  simple(
    out,
    runtime,
    "teal_request_bytes_total",
    "counter",
    "Request body bytes sent upstream.",
    (s) => s.bytesIn,
  );
  simple(
    out,
    runtime,
    "teal_response_bytes_total",
    "counter",
    "Response body bytes sent to clients.",
    (s) => s.bytesOut,
  );

  family("teal_request_duration_seconds", "histogram", "Time from request start to the end of the response.");
  for (const r of runtime) {
    for (const color of ["blue", "green"] as const) {
      const labels = `service="${r.service}",color="${color}"`;
      let cumulative = 0;
      r.stats[color].latencyBuckets.forEach((n, i) => {
        cumulative += n;
        const bound = BUCKET_BOUNDS_MS[i]!;
        const le = Number.isFinite(bound) ? String(Number((bound / 1000).toPrecision(4))) : "+Inf";
        out.push(`teal_request_duration_seconds_bucket{${labels},le="${le}"} ${cumulative}`);
      });
      out.push(`teal_request_duration_seconds_count{${labels}} ${cumulative}`);
    }
  }

  family("teal_live_color", "gauge", "1 for the service's live color.");
  family("teal_traffic_weight_percent", "gauge", "Share of unpinned requests sent to each color.");
  family("teal_endpoint_healthy", "gauge", "1 if the endpoint has no recent connection failures.");
  for (const r of runtime) {
    const state = routing(r.service);
    for (const color of ["blue", "green"] as const) {
      const labels = `service="${r.service}",color="${color}"`;
      out.push(`teal_live_color{${labels}} ${state.live === color ? 1 : 0}`);
      out.push(
        `teal_traffic_weight_percent{${labels}} ${color === "green" ? state.greenPercent : 100 - state.greenPercent}`,
      );
    }
    for (const e of r.endpoints) {
      out.push(
        `teal_endpoint_healthy{service="${r.service}",color="${e.color}",endpoint="${e.url}"} ${e.healthy ? 1 : 0}`,
      );
    }
  }
  family(
    "teal_connections_refused_total",
    "counter",
    "Client connections the proxy could not accept (at its file-descriptor limit).",
  );
  out.push(`teal_connections_refused_total ${listener.acceptErrors}`);
  family("teal_client_timeouts_total", "counter", "Client connections cut at a client deadline, by stage.");
  out.push(`teal_client_timeouts_total{stage="head"} ${listener.headTimeouts}`);
  out.push(`teal_client_timeouts_total{stage="body"} ${listener.bodyTimeouts}`);
  out.push(`teal_client_timeouts_total{stage="send"} ${listener.sendTimeouts}`);
  return `${out.join("\n")}\n`;
}

function simple(
  out: string[],
  runtime: readonly ServiceRuntimeStatus[],
  name: string,
  type: string,
  help: string,
  pick: (s: ServiceRuntimeStatus["stats"]["blue"]) => number,
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const r of runtime) {
    for (const color of ["blue", "green"] as const) {
      out.push(`${name}{service="${r.service}",color="${color}"} ${pick(r.stats[color])}`);
    }
  }
}
