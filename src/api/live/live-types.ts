/** What GET /v1/live streams: per-second traffic samples, markers, and the status document. */

import type { Color } from "../../domain/color.ts";

/** One color of one service over one sampling interval. */
export interface ColorPoint {
  /** Completed responses per second. */
  readonly rps: number;
  /** 5xx share of completed responses, 0..1; null without requests. */
  readonly errorRate: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface LiveSample {
  /** End of the interval, epoch ms. */
  readonly at: number;
  readonly services: Readonly<Record<string, Record<Color, ColorPoint>>>;
}

/** switch: the live color changed; weight: the split moved; deploy/finish: a deployment began/ended. */
export type MarkerKind = "switch" | "weight" | "rollback" | "deploy" | "finish";

/** A moment worth a vertical line on the charts. */
export interface LiveMarker {
  readonly at: number;
  readonly service: string;
  readonly kind: MarkerKind;
  readonly text: string;
}

/** The first message of the stream: everything a page opened mid-canary needs at once. */
export interface LiveHistory {
  readonly intervalMs: number;
  readonly samples: readonly LiveSample[];
  readonly markers: readonly LiveMarker[];
}
