/**
 * The exchanges running on one color, as an intrusive doubly-linked list. A JS Set with one add
 * and one delete per request made every young-generation GC about 5x slower under load
 * (measured: 4.4 ms vs 0.8 ms scavenges, p99 and throughput with them), so membership lives in
 * the exchanges themselves: O(1) add and remove, no hash table to churn.
 */

/** Anything that runs on a color and can be cut at a drain deadline: a request or a tunnel. */
export abstract class InFlight {
  /** Links owned by InFlightList; undefined when not in a list. */
  listPrev: InFlight | undefined = undefined;
  listNext: InFlight | undefined = undefined;
  list: InFlightList | undefined = undefined;

  /** Ends the exchange now (drain deadline passed). */
  abstract forceClose(): void;
}

export class InFlightList {
  #head: InFlight | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: InFlight): void {
    item.list = this;
    item.listPrev = undefined;
    item.listNext = this.#head;
    if (this.#head) this.#head.listPrev = item;
    this.#head = item;
    this.#size++;
  }

  /** Removes the item if it is in this list; a no-op otherwise. */
  remove(item: InFlight): void {
    if (item.list !== this) return;
    if (item.listPrev) item.listPrev.listNext = item.listNext;
    else this.#head = item.listNext;
    if (item.listNext) item.listNext.listPrev = item.listPrev;
    item.list = item.listPrev = item.listNext = undefined;
    this.#size--;
  }

  toArray(): InFlight[] {
    const out: InFlight[] = [];
    for (let x = this.#head; x; x = x.listNext) out.push(x);
    return out;
  }
}
