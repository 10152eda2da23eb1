/**
 * Requests waiting for an upstream connection when every one is busy: bounded in length (beyond
 * it a request is answered UPSTREAM_QUEUE_FULL at once) and in time (a request that waited
 * `timeoutMs` leaves with UPSTREAM_QUEUE_TIMEOUT). Both engines' upstream clients queue this way.
 */

import type { UpstreamHandler } from "./engine.ts";
import { upstreamError } from "./upstream-errors.ts";

export interface Waiting {
  readonly handler: UpstreamHandler;
  /** Set while the request waits here. */
  timer?: NodeJS.Timeout | undefined;
  aborted: boolean;
}

export class WaitQueue<W extends Waiting> {
  readonly #items: W[] = [];
  readonly #maxLength: number;
  readonly #timeoutMs: number;

  constructor(maxLength: number, timeoutMs: number) {
    this.#maxLength = maxLength;
    this.#timeoutMs = timeoutMs;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Queues the request, or answers it UPSTREAM_QUEUE_FULL. */
  add(w: W): void {
    if (this.#items.length >= this.#maxLength) {
      w.handler.onError(upstreamError("UPSTREAM_QUEUE_FULL", "too many requests wait for this endpoint"));
      return;
    }
    this.#items.push(w);
    w.timer = setTimeout(() => {
      this.remove(w);
      w.handler.onError(
        upstreamError("UPSTREAM_QUEUE_TIMEOUT", "no upstream connection became free in time"),
      );
    }, this.#timeoutMs);
  }

  /** Takes a request out (its exchange gave up, or its wait is over). */
  remove(w: W): void {
    clearTimeout(w.timer);
    w.timer = undefined;
    const i = this.#items.indexOf(w);
    if (i >= 0) this.#items.splice(i, 1);
  }

  /** The oldest waiting request, its timer stopped; an aborted one has left already. */
  shift(): W | undefined {
    const next = this.#items.shift();
    if (next !== undefined) {
      clearTimeout(next.timer);
      next.timer = undefined;
    }
    return next;
  }

  /** The endpoint is gone: every waiting request fails with UPSTREAM_DESTROYED. */
  failAll(): void {
    for (const w of this.#items.splice(0)) {
      clearTimeout(w.timer);
      w.timer = undefined;
      if (!w.aborted) w.handler.onError(upstreamError("UPSTREAM_DESTROYED", "the endpoint was closed"));
    }
  }
}
