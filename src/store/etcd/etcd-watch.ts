/**
 * One Store watch on an etcd prefix. The etcd client re-attaches a watcher after a lost stream
 * (a member killed, a leader change), and then may send events again that were already seen:
 * this class resumes from the last revision it delivered and drops repeats, so each event reaches
 * the listener exactly once, in revision order.
 */

import type { IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { TealError } from "../../domain/errors.ts";
import type { Watch, WatchEvent } from "../store.ts";
import type { KeySpace } from "./etcd-keys.ts";

export class EtcdWatch implements Watch {
  readonly #watcher: Watcher;
  readonly #keys: KeySpace;
  readonly #onEvent: (event: WatchEvent) => void;
  readonly #onLost: (err: TealError) => void;
  /** The last revision delivered, or known to hold nothing for us. */
  #lastRevision: number;
  /** Keys already delivered at #lastRevision: one transaction can change several keys. */
  #keysAtLast = new Set<string>();
  #cancelled = false;
  #everAttached = false;

  /**
   * @param afterRevision deliver changes after this revision (the watcher starts at the next).
   * @param onLost told when etcd ends the watch by itself (its history was compacted while the
   * watch was reconnecting); the caller reloads and watches again.
   */
  constructor(
    watcher: Watcher,
    keys: KeySpace,
    onEvent: (event: WatchEvent) => void,
    afterRevision: number,
    onLost: (err: TealError) => void,
  ) {
    this.#watcher = watcher;
    this.#keys = keys;
    this.#onEvent = onEvent;
    this.#onLost = onLost;
    this.#lastRevision = afterRevision;
    watcher.on("data", (response) => this.#deliver(response));
    watcher.on("connected", () => {
      this.#everAttached = true;
    });
    watcher.on("disconnected", () => {
      // The client resumes from the latest header it saw, which on a fresh attach is ahead of the
      // history still being replayed: resume from what was actually delivered instead.
      watcher.request.start_revision = String(this.#lastRevision + 1);
    });
    watcher.on("error", (err) => {
      // Before the first attach, attached() reports the failure to the caller instead.
      if (this.#cancelled || !this.#everAttached) return;
      this.#cancelled = true;
      this.#onLost(
        new TealError(
          "STORE_COMPACTED",
          `the etcd watch on ${keys.root} ended: ${err.message}; reload and watch again`,
          {
            cause: err,
          },
        ),
      );
    });
  }

  /** Resolves once etcd has attached the watch, or rejects with what etcd said instead. */
  attached(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onConnected = (): void => {
        this.#watcher.off("error", onError);
        resolve();
      };
      const onError = (err: Error): void => {
        this.#watcher.off("connected", onConnected);
        reject(err);
      };
      this.#watcher.once("connected", onConnected);
      this.#watcher.once("error", onError);
    });
  }

  async cancel(): Promise<void> {
    this.#cancelled = true;
    await this.#watcher.cancel();
  }

  #deliver(response: IWatchResponse): void {
    for (const event of response.events) {
      if (this.#cancelled) return;
      const revision = Number(event.kv.mod_revision);
      const key = this.#keys.storeKey(event.kv.key);
      if (this.#isRepeat(revision, key)) continue;
      this.#onEvent(
        event.type === "Put"
          ? { type: "put", revision, kv: this.#keys.record(event.kv as IKeyValue) }
          : { type: "delete", revision, key },
      );
    }
  }

  /** True for an event at or before what was delivered; records the event otherwise. */
  #isRepeat(revision: number, key: string): boolean {
    if (revision < this.#lastRevision) return true;
    if (revision === this.#lastRevision) {
      if (this.#keysAtLast.has(key)) return true;
    } else {
      this.#lastRevision = revision;
      this.#keysAtLast = new Set();
    }
    this.#keysAtLast.add(key);
    return false;
  }
}
