/** One color of a service: version, state, weight, and each instance with its health. */

import type { ServiceStatusView } from "../../api/status-view.ts";
import type { Color } from "../../domain/color.ts";

export function ColorPanel(props: { service: ServiceStatusView; color: Color }) {
  const { service: s, color } = props;
  const view = s.colors[color];
  const live = s.routing.live === color;
  const endpoints = s.endpoints.filter((e) => e.color === color);
  return (
    <section
      class={`color color-${color}`}
      aria-label={`${color} color`}
      data-testid={`color-${s.name}-${color}`}
    >
      <h3>
        <span class={`dot dot-${color}`} aria-hidden="true" />
        {color} {view.version && <span class="version">{view.version}</span>}
        <span class={`tag ${live ? "tag-live" : ""}`}>
          {live ? "live" : s.weights[color] > 0 ? "canary" : "idle"}
        </span>
      </h3>
      <p class="meta">
        {s.weights[color]}% of traffic · {view.state}
        {view.ready ? "" : view.notReadyReason ? ` · not ready: ${view.notReadyReason}` : " · not ready"}
      </p>
      {view.instances.length > 0 ? (
        <ul class="instances" aria-label={`${color} instances`}>
          {view.instances.map((i) => (
            <li key={i.id}>
              <span class={`health health-${i.alive ? (i.health?.status ?? "unknown") : "down"}`}>
                {i.alive ? (i.health?.status ?? "no check") : "down"}
              </span>{" "}
              <code>{i.url}</code>
              {i.pid !== null && <span class="muted"> pid {i.pid}</span>}
              {i.restarts > 0 && <span class="warn-text"> · {i.restarts} restarts</span>}
            </li>
          ))}
        </ul>
      ) : endpoints.length > 0 ? (
        <ul class="instances" aria-label={`${color} endpoints`}>
          {endpoints.map((e) => (
            <li key={e.url}>
              <span class={`health health-${e.healthy ? "healthy" : "unhealthy"}`}>
                {e.healthy ? "healthy" : "unhealthy"}
              </span>{" "}
              <code>{e.url}</code>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">no instances</p>
      )}
    </section>
  );
}
