/** In-process watch fan-out shared by the store adapters: ordered, non-reentrant delivery. */

import type { Watch, WatchEvent } from "./store.ts";

interface Watcher {
  readonly prefix: string;
  readonly onEvent: (event: WatchEvent) => void;
  /** Only events with a revision above this are delivered. */
  readonly afterRevision: number;
  cancelled: boolean;
}

/** The key an event is about, for prefix matching. */
export function eventKey(event: WatchEvent): string {
  return event.type === "put" ? event.kv.key : event.key;
}

/**
 * Delivers committed events to watchers in the order they were published. Deliveries go through
 * one queue drained by one loop, so a listener that writes to the store from inside a callback
 * queues its events behind the ones being delivered instead of overtaking them.
 */
export class WatchHub {
  readonly #watchers = new Set<Watcher>();
  readonly #queue: Array<{ watcher: Watcher; event: WatchEvent }> = [];
  readonly #onListenerError: (err: unknown) => void;
  #draining = false;

  constructor(onListenerError: (err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /**
   * Registers a watcher and queues `replay` (events it missed, oldest first) ahead of anything
   * published later. Call it in the same synchronous step as reading the replay history, so no
   * write can fall between the two.
   */
  subscribe(
    prefix: string,
    onEvent: (event: WatchEvent) => void,
    afterRevision: number,
    replay: readonly WatchEvent[],
  ): Watch {
    const watcher: Watcher = { prefix, onEvent, afterRevision, cancelled: false };
    this.#watchers.add(watcher);
    for (const event of replay) this.#enqueue(watcher, event);
    this.#drain();
    return {
      cancel: async () => {
        watcher.cancelled = true;
        this.#watchers.delete(watcher);
      },
    };
  }

  /** Fans out events of one committed write, in revision order. */
  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      for (const watcher of this.#watchers) this.#enqueue(watcher, event);
    }
    this.#drain();
  }

  /** Cancels every watcher; queued events are dropped. */
  cancelAll(): void {
    for (const watcher of this.#watchers) watcher.cancelled = true;
    this.#watchers.clear();
    this.#queue.length = 0;
  }

  #enqueue(watcher: Watcher, event: WatchEvent): void {
    if (event.revision > watcher.afterRevision && eventKey(event).startsWith(watcher.prefix)) {
      this.#queue.push({ watcher, event });
    }
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        if (next.watcher.cancelled) continue;
        try {
          next.watcher.onEvent(next.event);
        } catch (err) {
          // One broken listener must not fail the write that triggered it or starve other watchers.
          this.#onListenerError(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
