/** The running (or last) rollout: strategy, step, weight, elapsed time, each check against its threshold. */

import type { DeploymentSummary } from "../../api/status-view.ts";
import { formatDuration, formatTime } from "../format.ts";
import { checkText } from "../verdict.ts";

export function RolloutPanel(props: { service: string; deployment: DeploymentSummary; now: number }) {
  const { deployment: d, now } = props;
  const r = d.rollout;
  const end = d.finishedAt ? Date.parse(d.finishedAt) : now;
  const running = d.outcome === "running";
  return (
    <section class="rollout" aria-label="deployment" data-testid={`rollout-${props.service}`}>
      <h3>
        {running ? "Deploying" : "Last deployment"} #{d.seq}: {d.kind} {d.version} → {d.color}
        <span class={`outcome outcome-${d.outcome}`}>{d.outcome.replace("_", " ")}</span>
      </h3>
      <dl class="facts">
        <div>
          <dt>strategy</dt>
          <dd>{r?.strategy ?? "blue-green"}</dd>
        </div>
        <div>
          <dt>phase</dt>
          <dd>{d.phase}</dd>
        </div>
        {r && (
          <div>
            <dt>step</dt>
            <dd data-testid={`step-${props.service}`} data-step={r.step}>
              {r.step}/{r.steps}: {r.stepText}
              {r.paused ? " (paused)" : ""}
            </dd>
          </div>
        )}
        {r && (
          <div>
            <dt>weight</dt>
            <dd>
              {r.weight}% on {d.color}
            </dd>
          </div>
        )}
        <div>
          <dt>{running ? "elapsed" : "took"}</dt>
          <dd>
            {formatDuration(end - Date.parse(d.startedAt))} (since {formatTime(d.startedAt)})
          </dd>
        </div>
      </dl>
      {r?.waiting && running && <p class="waiting">Waiting for: {r.waiting}</p>}
      {d.reason && <p class="reason">{d.reason}</p>}
      {r && r.checks.length > 0 && (
        <ul class="checks" aria-label="analysis checks">
          {r.checks.map((c) => {
            const v = c.last?.verdict ?? "waiting";
            return (
              <li key={c.name} class={`check check-${v}`}>
                <span class="check-verdict">{v}</span> <strong>{c.name}</strong> {checkText(c)}
                <span class="muted">
                  {" "}
                  · {c.passes} pass, {c.failures} fail, {c.inconclusives} inconclusive
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
