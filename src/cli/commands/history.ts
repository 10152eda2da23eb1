/** `teal history SERVICE`: every deployment, newest first, with its events. */

import { type Deployment, durationMs } from "../../domain/deployment.ts";
import { adminClient, type GlobalOptions } from "../context.ts";
import { color, colorName, emit } from "../output.ts";
import { renderEvent } from "./deploy.ts";

export async function historyCommand(
  service: string,
  opts: GlobalOptions & { limit?: string; events: boolean },
): Promise<number> {
  const client = await adminClient(opts);
  const limit = opts.limit ?? "20";
  const result = await client.get<{ service: string; deployments: Deployment[] }>(
    `/v1/services/${encodeURIComponent(service)}/deployments?limit=${encodeURIComponent(limit)}`,
  );
  emit(opts.json, result, () => {
    if (result.deployments.length === 0)
      return `${service}: no deployments yet (teal deploy ${service} --version …)`;
    return result.deployments.map((d) => render(d, opts.events)).join("\n\n");
  });
  return 0;
}

function render(d: Deployment, events: boolean): string {
  const took = durationMs(d);
  const head = [
    color.bold(`#${d.seq}`),
    d.kind === "rollback" ? `teal rollback${d.rollbackOf ? ` of #${d.rollbackOf}` : ""}` : "deploy",
    d.version,
    `${colorName(d.from.color)} → ${colorName(d.color)}`,
    outcomeText(d),
    took === null ? "" : `${(took / 1000).toFixed(1)}s`,
    color.dim(`${d.startedAt} by ${d.actor}`),
  ]
    .filter(Boolean)
    .join("  ");
  const lines = [head];
  if (d.reason) lines.push(`    reason: ${d.reason}`);
  if (d.rolledBackBy) lines.push(`    undone by #${d.rolledBackBy} (teal rollback)`);
  if (d.migration)
    lines.push(
      `    migration ${d.migration.name}: ${d.migration.phase.replace("_", " ")} (schema ${d.migration.schema})`,
    );
  // A statistical check's latest comparison: verdict and numbers (effect, p-value, seconds compared).
  for (const c of d.rollout?.checks ?? []) {
    const k = c.lastComparison;
    if (k) lines.push(`    check ${c.name}: ${k.verdict} ${k.reason}`);
  }
  if (events) {
    const start = Date.parse(d.startedAt);
    for (const e of d.events) lines.push(renderEvent(e, start).trimEnd());
  }
  return lines.join("\n");
}

/** A rollback teal made by itself reads apart from an operator's `teal rollback` of a live version. */
function outcomeText(d: Deployment): string {
  switch (d.outcome) {
    case "succeeded":
      return color.green(d.outcome);
    case "running":
      return color.yellow(`running (${d.phase})`);
    case "failed":
      return color.red(d.outcome);
    case "rolled_back":
      if (d.rollbackCause === "operator") return color.yellow("undone by operator");
      return color.red(`rolled back by teal${d.rollbackCause ? ` (${d.rollbackCause})` : ""}`);
  }
}
