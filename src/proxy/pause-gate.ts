/** Holds a paused service's new requests in arrival order until resume, or sheds them at the limit. */

interface Held {
  readonly release: () => void;
  readonly shed: () => void;
  readonly timer: NodeJS.Timeout;
}

export class PauseGate {
  readonly #held: Held[] = [];

  get size(): number {
    return this.#held.length;
  }

  /** Queues a request; `shed` runs instead of `release` if it waits longer than timeoutMs. */
  hold(timeoutMs: number, release: () => void, shed: () => void): () => void {
    const entry: Held = {
      release,
      shed,
      timer: setTimeout(() => {
        this.#remove(entry);
        shed();
      }, timeoutMs).unref(),
    };
    this.#held.push(entry);
    return () => {
      this.#remove(entry);
      clearTimeout(entry.timer);
    };
  }

  /** Releases every held request, oldest first. */
  releaseAll(): void {
    const held = this.#held.splice(0);
    for (const entry of held) {
      clearTimeout(entry.timer);
      entry.release();
    }
  }

  shedAll(): void {
    const held = this.#held.splice(0);
    for (const entry of held) {
      clearTimeout(entry.timer);
      entry.shed();
    }
  }

  #remove(entry: Held): void {
    const i = this.#held.indexOf(entry);
    if (i >= 0) this.#held.splice(i, 1);
  }
}
