/**
 * GET /v1/live: the dashboard's one stream (Server-Sent Events). First `history` (the sampler's
 * ring) and `status`; then every second a `sample`, a `marker` at each switch, split move or
 * rollback, and `status` whenever the status document changed. The status is computed once per
 * tick for all viewers, never per viewer.
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { TealError } from "../../domain/errors.ts";
import type { LiveListener, LiveSampler } from "../live/sampler.ts";
import type { StatusView } from "../status-view.ts";

type LiveItem = Parameters<LiveListener>[0];

/** A viewer that reads slower than we write loses its oldest samples, not our memory. */
const MAX_QUEUED = 120;
/** Each viewer holds a socket and a queue: a link shared too widely must not exhaust the server. */
export const MAX_VIEWERS = 64;

export function liveRoutes(sampler: LiveSampler, status: () => Promise<StatusView>): Hono {
  const app = new Hono();
  // One status read per sampler tick while anyone watches, shared by every viewer: a viewer that
  // falls behind sends the latest status, it does not read it again for each queued item.
  let viewers = 0;
  let latest: Promise<string> | undefined;
  const refresh = () => {
    // Without the traffic counters, which change every second under load and which the page
    // takes from the samples: the status is then sent again only when something in it changed.
    latest = status().then((s) =>
      JSON.stringify({ ...s, services: s.services.map(({ traffic: _, ...rest }) => rest) }),
    );
    latest.catch(() => {}); // a viewer that awaits it gets the error; nobody else must crash
    return latest;
  };
  // Subscribed only while someone watches: with no listener the sampler makes no sample objects.
  let unfollow: (() => void) | undefined;

  app.get("/live", (c) => {
    if (viewers >= MAX_VIEWERS) {
      throw new TealError(
        "TOO_MANY_STREAMS",
        `${MAX_VIEWERS} dashboards are watching already: close one (each open page holds a stream) and try again`,
      );
    }
    viewers++; // counted now, not when the stream starts: a burst of requests cannot slip past
    // Before the viewer's own subscription: each item refreshes the status before viewers read it.
    unfollow ??= sampler.subscribe(() => refresh());
    return streamSSE(c, async (stream) => {
      const queue: LiveItem[] = [];
      let wake: () => void = () => {};
      let done = false;
      const unsubscribe = sampler.subscribe((item) => {
        queue.push(item);
        if (queue.length > MAX_QUEUED) queue.shift();
        wake();
      });
      stream.onAbort(() => {
        done = true;
        wake();
      });
      try {
        await stream.writeSSE({ event: "history", data: JSON.stringify(sampler.history()) });
        let sentStatus = await refresh();
        await stream.writeSSE({ event: "status", data: sentStatus });
        while (!done) {
          const item = queue.shift();
          if (item === undefined) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          const data = JSON.stringify(item.kind === "sample" ? item.sample : item.marker);
          await stream.writeSSE({ event: item.kind, data });
          const json = await latest!;
          if (json !== sentStatus) await stream.writeSSE({ event: "status", data: json });
          sentStatus = json;
        }
      } finally {
        viewers--;
        unsubscribe();
        if (viewers === 0) {
          unfollow?.();
          unfollow = undefined;
        }
      }
    });
  });
  return app;
}
