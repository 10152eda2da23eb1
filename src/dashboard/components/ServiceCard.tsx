/** Everything about one service on one card: verdict, split, colors, rollout, charts, actions, history. */

import type { LiveMarker, LiveSample } from "../../api/live/live-types.ts";
import type { ServiceStatusView } from "../../api/status-view.ts";
import { type ActionSpec, actionsFor } from "../actions.ts";
import { verdictOf } from "../verdict.ts";
import { ColorPanel } from "./ColorPanel.tsx";
import { History } from "./History.tsx";
import { RolloutPanel } from "./RolloutPanel.tsx";
import { ServiceCharts } from "./ServiceCharts.tsx";
import { SplitBar } from "./SplitBar.tsx";

export interface ServiceCardProps {
  readonly service: ServiceStatusView;
  readonly samples: readonly LiveSample[];
  readonly markers: readonly LiveMarker[];
  readonly token: string;
  readonly theme: string;
  readonly onAction: (a: ActionSpec) => void;
}

export function ServiceCard(props: ServiceCardProps) {
  const { service: s, samples } = props;
  const verdict = verdictOf(s, samples);
  const d = s.deployment;
  // The migration moves on after its deployment ended (the contract waits for the old color's
  // retirement), so its phase is part of what makes the history re-read.
  const changeKey = d
    ? `${d.seq}:${d.outcome}:${d.phase}:${d.rollout?.step ?? 0}:${d.rollout?.paused}:${d.migration?.phase}`
    : "none";
  return (
    <article class="service" aria-labelledby={`svc-${s.name}`} data-testid={`service-${s.name}`}>
      <header class="service-head">
        <h2 id={`svc-${s.name}`}>{s.name}</h2>
        <span class={`pill pill-${s.routing.live}`} data-testid={`live-${s.name}`}>
          live: {s.routing.live} {s.colors[s.routing.live].version ?? ""}
        </span>
        {s.routing.paused && <span class="pill pill-warn">paused{s.held ? ` (${s.held} held)` : ""}</span>}
        {s.routing.maintenance && <span class="pill pill-bad">maintenance</span>}
      </header>
      {s.alerts.map((a) => (
        <p key={a} class="banner banner-bad" role="alert">
          {a}
        </p>
      ))}
      {s.nothingDeployed && (
        <p class="banner banner-neutral" data-testid={`nothing-deployed-${s.name}`}>
          {d?.outcome === "running"
            ? "nothing live yet: its first deployment is running"
            : `nothing deployed yet: deploy a first version (teal deploy ${s.name} --version …)`}
        </p>
      )}
      {verdict && (
        <p class={`banner banner-${verdict.tone}`} data-testid={`verdict-${s.name}`} data-tone={verdict.tone}>
          {verdict.text}
        </p>
      )}
      {d?.migration && (
        <p class="muted" data-testid={`migration-${s.name}`}>
          migration {d.migration.name}: {d.migration.phase.replace("_", " ")} (schema {d.migration.schema})
        </p>
      )}
      <SplitBar service={s} />
      <div class="colors">
        <ColorPanel service={s} color="blue" />
        <ColorPanel service={s} color="green" />
      </div>
      {d && <RolloutPanel service={s.name} deployment={d} now={samples.at(-1)?.at ?? Date.now()} />}
      <fieldset class="actions">
        <legend class="visually-hidden">actions on {s.name}</legend>
        {actionsFor(s).map((a) => (
          <button
            key={a.id}
            type="button"
            class={a.danger ? "danger-outline" : ""}
            data-action={a.id}
            onClick={() => props.onAction(a)}
          >
            {a.label}
          </button>
        ))}
      </fieldset>
      <ServiceCharts service={s.name} samples={samples} markers={props.markers} theme={props.theme} />
      <History service={s.name} token={props.token} changeKey={changeKey} />
    </article>
  );
}
