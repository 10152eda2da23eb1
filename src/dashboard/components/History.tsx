/** The service's deployments, newest first, each expandable to the events that explain it. */

import { useEffect, useState } from "preact/hooks";
import type { Deployment } from "../../domain/deployment.ts";
import { getJson } from "../api.ts";
import { formatDuration, formatTime } from "../format.ts";

const LIMIT = 20;

export function History(props: { service: string; token: string; changeKey: string }) {
  const { service, token, changeKey } = props;
  const [items, setItems] = useState<Deployment[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Re-read when the status says a deployment moved; the stream carries no history itself.
  useEffect(() => {
    let current = true;
    getJson<{ deployments: Deployment[] }>(
      `/v1/services/${encodeURIComponent(service)}/deployments?limit=${LIMIT}`,
      token,
    ).then(
      (r) => {
        if (!current) return;
        setItems(r.deployments);
        setError(null);
      },
      (err: Error) => current && setError(`history unavailable: ${err.message}`),
    );
    return () => {
      current = false;
    };
  }, [service, token, changeKey]);

  return (
    <section class="history" aria-label={`${service} deployment history`} data-testid={`history-${service}`}>
      <h3>History</h3>
      {error && <p class="error">{error}</p>}
      {items?.length === 0 && <p class="muted">no deployments yet</p>}
      <ol class="timeline">
        {items?.map((d) => (
          <li
            key={d.seq}
            class={`entry outcome-border-${d.outcome}`}
            data-seq={d.seq}
            data-outcome={d.outcome}
            data-rollback-cause={d.rollbackCause ?? undefined}
          >
            <details>
              <summary>
                <span class="entry-title">
                  #{d.seq} {d.kind === "rollback" ? "teal rollback" : d.kind}
                  {d.rollbackOf ? ` of #${d.rollbackOf}` : ""} {d.version} → {d.color}
                </span>
                <span class={`outcome outcome-${d.rollbackCause === "operator" ? "undone" : d.outcome}`}>
                  {outcomeText(d)}
                </span>
                <span class="muted">
                  {formatTime(d.startedAt)} ·{" "}
                  {d.finishedAt
                    ? formatDuration(Date.parse(d.finishedAt) - Date.parse(d.startedAt))
                    : "running"}
                  {d.rollout ? ` · ${d.rollout.strategy}` : ""}
                </span>
                {d.reason && <span class="entry-reason">{d.reason}</span>}
                {d.migration && (
                  <span class="muted" data-testid={`migration-${d.seq}`}>
                    migration {d.migration.name}: {d.migration.phase.replace("_", " ")} (schema{" "}
                    {d.migration.schema})
                  </span>
                )}
              </summary>
              <ol class="events" aria-label={`events of deployment ${d.seq}`}>
                {d.events.map((e, i) => (
                  <li key={`${e.at}-${i}`}>
                    <time dateTime={e.at}>{formatTime(e.at)}</time> <span class="event-type">{e.type}</span>{" "}
                    {e.message}
                    {e.actor !== "teal" && <span class="muted"> ({e.actor})</span>}
                  </li>
                ))}
              </ol>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** An operator's `teal rollback` of a live version reads apart from teal rolling back by itself. */
function outcomeText(d: Deployment): string {
  if (d.outcome !== "rolled_back") return d.outcome;
  if (d.rollbackCause === "operator")
    return `undone by operator${d.rolledBackBy ? ` (#${d.rolledBackBy})` : ""}`;
  return `rolled back by teal${d.rollbackCause ? ` (${d.rollbackCause})` : ""}`;
}
