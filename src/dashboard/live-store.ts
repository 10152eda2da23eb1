/**
 * The page's live state, fed by the one stream GET /v1/live: status, the per-second samples of
 * the last minutes and the chart markers. Reconnects with backoff; stops on a refused token.
 */

import type { LiveHistory, LiveMarker, LiveSample } from "../api/live/live-types.ts";
import type { StatusView } from "../api/status-view.ts";
import { ApiError, readEvents } from "./api.ts";

export type Connection = "connecting" | "live" | "reconnecting" | "refused";

export interface LiveState {
  readonly connection: Connection;
  /** Why the connection is not live, for the banner. */
  readonly problem: string | null;
  readonly status: StatusView | null;
  readonly samples: readonly LiveSample[];
  readonly markers: readonly LiveMarker[];
  readonly intervalMs: number;
}

const KEEP_MS = 5 * 60_000;

export const INITIAL: LiveState = {
  connection: "connecting",
  problem: null,
  status: null,
  samples: [],
  markers: [],
  intervalMs: 1000,
};

export class LiveStore {
  #state: LiveState = INITIAL;
  readonly #listeners = new Set<(s: LiveState) => void>();
  #abort: AbortController | undefined;

  get state(): LiveState {
    return this.#state;
  }

  subscribe(fn: (s: LiveState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Connects with the given token and keeps the stream open until stop(). */
  start(token: string): void {
    this.stop();
    // A new token gets a fresh chance: the previous one's refusal must not keep the gate shut.
    this.#set({ connection: "connecting", problem: null });
    const abort = new AbortController();
    this.#abort = abort;
    void this.#run(token, abort.signal);
  }

  stop(): void {
    this.#abort?.abort();
    this.#abort = undefined;
  }

  async #run(token: string, signal: AbortSignal): Promise<void> {
    let backoffMs = 1000;
    while (!signal.aborted) {
      try {
        for await (const { event, data } of readEvents("/v1/live", token, signal)) {
          this.#apply(event, data);
          backoffMs = 1000;
        }
        if (signal.aborted) return;
        this.#set({ connection: "reconnecting", problem: "the server closed the live stream" });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          this.#set({ connection: "refused", problem: err.message });
          return;
        }
        const why = err instanceof ApiError ? err.message : "the teal server does not answer";
        this.#set({ connection: "reconnecting", problem: `${why}; retrying` });
      }
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(10_000, backoffMs * 2);
    }
  }

  #apply(event: string, data: string): void {
    const s = this.#state;
    switch (event) {
      case "history": {
        const h = JSON.parse(data) as LiveHistory;
        this.#set({ samples: h.samples, markers: h.markers, intervalMs: h.intervalMs });
        return;
      }
      case "status":
        this.#set({ status: JSON.parse(data) as StatusView, connection: "live", problem: null });
        return;
      case "sample": {
        const sample = JSON.parse(data) as LiveSample;
        this.#set({ samples: trim([...s.samples, sample], sample.at) });
        return;
      }
      case "marker": {
        const marker = JSON.parse(data) as LiveMarker;
        this.#set({ markers: trim([...s.markers, marker], marker.at) });
        return;
      }
    }
  }

  #set(patch: Partial<LiveState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of this.#listeners) fn(this.#state);
  }
}

function trim<T extends { at: number }>(items: T[], now: number): T[] {
  const from = items.findIndex((i) => i.at >= now - KEEP_MS);
  return from <= 0 ? items : items.slice(from);
}
