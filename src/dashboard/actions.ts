/** Which actions a service offers now, and what each one will do, in words for the confirmation. */

import type { ServiceStatusView } from "../api/status-view.ts";
import { type Color, otherColor } from "../domain/color.ts";

export interface ActionSpec {
  /** The service it acts on. */
  readonly service: string;
  readonly id: string;
  readonly label: string;
  /** The confirmation's question and what will happen (service, from → to). */
  readonly question: string;
  readonly effect: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly danger: boolean;
}

export function actionsFor(s: ServiceStatusView): ActionSpec[] {
  const name = s.name;
  const at = (path: string) => `/v1/services/${encodeURIComponent(name)}/${path}`;
  const what = (c: Color) => `${c}${s.colors[c].version ? ` ${s.colors[c].version}` : ""}`;
  const live = s.routing.live;
  const d = s.deployment;
  const out: Omit<ActionSpec, "service">[] = [];
  if (d && d.outcome === "running") {
    const stable = otherColor(d.color);
    const r = d.rollout;
    if (r)
      out.push(
        {
          id: "promote",
          label: "Promote",
          question: `Promote the rollout of ${name}?`,
          effect: `${name}: end step ${r.step}/${r.steps} (${r.stepText}) and go on with ${d.color} ${d.version}.`,
          path: at("promote"),
          body: {},
          danger: false,
        },
        {
          id: "promote-full",
          label: "Promote fully",
          question: `Promote ${name} fully?`,
          effect: `${name}: skip every remaining step; all traffic from ${what(stable)} to ${d.color} ${d.version} now.`,
          path: at("promote"),
          body: { full: true },
          danger: false,
        },
        r.paused
          ? {
              id: "rollout-resume",
              label: "Resume rollout",
              question: `Resume the rollout of ${name}?`,
              effect: `${name}: the rollout goes on from step ${r.step}/${r.steps} (${r.stepText}).`,
              path: at("rollout/resume"),
              body: {},
              danger: false,
            }
          : {
              id: "rollout-pause",
              label: "Pause rollout",
              question: `Pause the rollout of ${name}?`,
              effect: `${name}: hold at step ${r.step}/${r.steps} with ${r.weight}% on ${d.color} ${d.version}; analysis keeps watching.`,
              path: at("rollout/pause"),
              body: {},
              danger: false,
            },
      );
    // Any running deployment can be aborted (a blue-green one too); switch and roll back wait.
    out.push({
      id: "abort",
      label: "Abort (roll back)",
      question: `Abort the ${r ? "rollout" : "deployment"} of ${name} and roll back?`,
      effect: `${name}: stop ${d.color} ${d.version}; all traffic stays on or goes back to ${what(stable)} now.`,
      path: at("abort"),
      body: {},
      danger: true,
    });
  } else if (s.runtime !== "static" || s.endpoints.length > 0) {
    const other = otherColor(live);
    if (s.runtime === "static" || s.colors[other].version)
      out.push({
        id: "switch",
        label: `Switch to ${other}`,
        question: `Switch ${name} to ${other}?`,
        effect: `${name}: all traffic from ${what(live)} to ${what(other)}.`,
        path: at("switch"),
        body: { to: other },
        danger: true,
      });
    if (d && s.runtime !== "static")
      out.push({
        id: "rollback",
        label: "Roll back",
        question: `Roll ${name} back?`,
        effect: `${name}: from ${what(live)} back to the previous version (at once while it is warm, else redeployed).`,
        path: at("rollback"),
        body: {},
        danger: true,
      });
  }
  out.push(
    s.routing.paused
      ? {
          id: "resume",
          label: "Resume traffic",
          question: `Resume traffic to ${name}?`,
          effect: `${name}: held requests go on in order; new ones flow again.`,
          path: at("resume"),
          body: {},
          danger: false,
        }
      : {
          id: "pause",
          label: "Pause traffic",
          question: `Pause traffic to ${name}?`,
          effect: `${name}: new requests are held (up to the pause timeout) until you resume.`,
          path: at("pause"),
          body: {},
          danger: true,
        },
    {
      id: s.routing.maintenance ? "maintenance-off" : "maintenance-on",
      label: s.routing.maintenance ? "End maintenance" : "Maintenance on",
      question: s.routing.maintenance ? `End maintenance of ${name}?` : `Put ${name} in maintenance?`,
      effect: s.routing.maintenance
        ? `${name}: requests reach ${what(live)} again.`
        : `${name}: every request gets a 503 maintenance page until you end it.`,
      path: at("maintenance"),
      body: { enabled: !s.routing.maintenance },
      danger: !s.routing.maintenance,
    },
  );
  return out.map((a) => ({ ...a, service: name }));
}

/**
 * Whether a confirmation still describes what the action would do now: a rollout that moved on, a
 * new deployment or a switch by someone else closes it, so "abort green v2" never aborts v3.
 */
export function stillOffered(action: ActionSpec, services: readonly ServiceStatusView[]): boolean {
  const s = services.find((x) => x.name === action.service);
  return s !== undefined && actionsFor(s).some((a) => a.id === action.id && a.effect === action.effect);
}
