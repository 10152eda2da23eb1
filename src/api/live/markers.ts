/** Chart markers from what the server already reports: routing changes and deployment events. */

import type { RoutingChange } from "../../control/routing-controller.ts";
import type { FeedItem } from "../../deploy/deployment-log.ts";
import type { LiveMarker } from "./live-types.ts";

type Draft = Omit<LiveMarker, "at">;

/** A switch of the live color, or a move of the split; flags (pause, maintenance) are not marked. */
export function routingMarker(change: RoutingChange): Draft | undefined {
  const { service, before, after } = change;
  if (before.live !== after.live)
    return { service, kind: "switch", text: `live ${before.live} → ${after.live}` };
  if (before.greenPercent !== after.greenPercent)
    return { service, kind: "weight", text: `green ${before.greenPercent}% → ${after.greenPercent}%` };
  return undefined;
}

/** A rollback as it happens, and the end of every deployment. */
export function deploymentMarker(item: FeedItem): Draft | undefined {
  const d = item.deployment;
  if (item.kind === "event" && item.event.type === "rollback")
    return { service: d.service, kind: "rollback", text: `#${d.seq} ${d.version}: ${item.event.message}` };
  if (item.kind === "end") {
    const kind = d.kind === "rollback" ? "rollback" : "finish";
    return {
      service: d.service,
      kind,
      text: `#${d.seq} ${d.kind} ${d.version} ${d.outcome.replace("_", " ")}`,
    };
  }
  return undefined;
}
