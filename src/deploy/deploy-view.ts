/** What each color of a service runs, as status views show it. */

import type { Color } from "../domain/color.ts";
import type { ColorSlot } from "../domain/slot.ts";
import type { MemberView } from "./color-group.ts";
import type { ServiceUnit } from "./service-unit.ts";

export interface ColorView {
  readonly version: string | null;
  /** The image the color runs (docker runtime); null otherwise. */
  readonly image: string | null;
  readonly state: ColorSlot["state"] | "static";
  readonly deploymentSeq: number | null;
  readonly warmUntil: string | null;
  /** Whether the health gate lets traffic in now. */
  readonly ready: boolean;
  readonly notReadyReason: string | null;
  readonly instances: MemberView[];
}

export interface ServiceDeployView {
  readonly runtime: string;
  readonly colors: Record<Color, ColorView>;
  readonly runningSeq: number | null;
}

export function deployView(unit: ServiceUnit): ServiceDeployView {
  const colors = Object.fromEntries(
    (["blue", "green"] as const).map((color) => {
      const slot = unit.slot(color);
      const readiness = unit.groups[color].readiness();
      return [
        color,
        {
          version: unit.managed ? slot.version : null,
          image: slot.image ?? null,
          state: unit.managed ? slot.state : "static",
          deploymentSeq: slot.deploymentSeq,
          warmUntil: slot.warmUntil,
          ready: readiness.ok,
          notReadyReason: readiness.ok ? null : readiness.reason,
          instances: unit.groups[color].view(),
        } satisfies ColorView,
      ];
    }),
  ) as Record<Color, ColorView>;
  const running = unit.running;
  return {
    runtime: unit.config.runtime.type,
    colors,
    runningSeq: running === undefined || running === "claiming" ? null : running.seq,
  };
}
