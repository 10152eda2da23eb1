/** Waits until a color's drain has finished in every proxy process (bounded by its deadline). */

import type { Color } from "../domain/color.ts";
import type { DrainReport } from "../traffic/status.ts";
import type { DataPlanePort } from "./data-plane-port.ts";

const POLL_MS = 20;

export async function waitForDrain(
  dataPlane: DataPlanePort,
  service: string,
  color: Color,
): Promise<DrainReport | undefined> {
  for (;;) {
    const status = (await dataPlane.status()).find((s) => s.service === service);
    const drain = status?.drains.find((d) => d.color === color);
    if (drain?.state !== "draining") return drain;
    // Bounded: the drain itself ends at its deadline, after which state is no longer "draining".
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_MS, Math.max(1, drain.deadlineAtMs - Date.now()))),
    );
  }
}
