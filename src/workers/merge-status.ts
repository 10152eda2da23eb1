/** Folds the runtime status reported by several proxy processes into one view per service. */

import type { Color } from "../domain/color.ts";
import { mergeSnapshots } from "../traffic/color-stats.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";

export function mergeStatus(perWorker: readonly ServiceRuntimeStatus[][]): ServiceRuntimeStatus[] {
  const byService = new Map<string, ServiceRuntimeStatus[]>();
  for (const list of perWorker) {
    for (const s of list) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  }
  return [...byService.entries()].map(([service, parts]) => ({
    service,
    generation: Math.min(...parts.map((p) => p.generation)),
    held: parts.reduce((n, p) => n + p.held, 0),
    drains: mergeDrains(parts.flatMap((p) => p.drains)),
    endpoints: mergeEndpoints(parts.flatMap((p) => p.endpoints)),
    stats: {
      blue: mergeSnapshots(parts.map((p) => p.stats.blue)),
      green: mergeSnapshots(parts.map((p) => p.stats.green)),
    },
  }));
}

function mergeDrains(all: DrainReport[]): DrainReport[] {
  const byColor = new Map<Color, DrainReport>();
  for (const d of all) {
    const prev = byColor.get(d.color);
    if (!prev) {
      byColor.set(d.color, d);
      continue;
    }
    const states = [prev.state, d.state];
    byColor.set(d.color, {
      color: d.color,
      state: states.includes("draining") ? "draining" : states.includes("forced") ? "forced" : "drained",
      startedAtMs: Math.min(prev.startedAtMs, d.startedAtMs),
      deadlineAtMs: Math.max(prev.deadlineAtMs, d.deadlineAtMs),
      finishedAtMs:
        prev.finishedAtMs === undefined || d.finishedAtMs === undefined
          ? undefined
          : Math.max(prev.finishedAtMs, d.finishedAtMs),
      remaining: prev.remaining + d.remaining,
      forced: prev.forced + d.forced,
    });
  }
  return [...byColor.values()];
}

function mergeEndpoints(all: ServiceRuntimeStatus["endpoints"]): ServiceRuntimeStatus["endpoints"] {
  const byKey = new Map<string, ServiceRuntimeStatus["endpoints"][number]>();
  for (const e of all) {
    const key = `${e.color} ${e.url}`;
    const prev = byKey.get(key);
    byKey.set(
      key,
      prev
        ? {
            ...e,
            healthy: prev.healthy && e.healthy,
            consecutiveFailures: Math.max(prev.consecutiveFailures, e.consecutiveFailures),
          }
        : e,
    );
  }
  return [...byKey.values()];
}
