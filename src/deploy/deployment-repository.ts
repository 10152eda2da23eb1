/**
 * Deployments in the store, one record per deployment under `deployments/<service>/<seq>`,
 * every update a compare-and-swap on the revision this process last wrote.
 */

import { type Deployment, isDeployment } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import { RecordCollection } from "../store/records.ts";
import type { Store } from "../store/store.ts";

/** A deployment and the store revision to compare against on its next write. */
export interface TrackedDeployment {
  readonly value: Deployment;
  readonly revision: number;
}

const decode = (json: unknown): Deployment => {
  if (!isDeployment(json)) throw new Error("not a deployment record");
  // Records from before the cause was kept: only an operator's rollback left rolledBackBy.
  if (json.rollbackCause === undefined)
    return { ...json, rollbackCause: json.rolledBackBy != null ? "operator" : null };
  return json;
};

/** Zero-padded so that keys sort in deployment order. */
const idOf = (seq: number) => String(seq).padStart(8, "0");

export class DeploymentRepository {
  readonly #store: Store;
  readonly #collections = new Map<string, RecordCollection<Deployment>>();
  readonly #lastSeq = new Map<string, number>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Every deployment of the service, oldest first. */
  async list(service: string): Promise<TrackedDeployment[]> {
    const { items } = await this.#collection(service).list();
    return items.map((r) => ({ value: r.value, revision: r.modRevision }));
  }

  async get(service: string, seq: number): Promise<TrackedDeployment | undefined> {
    const r = await this.#collection(service).get(idOf(seq));
    return r && { value: r.value, revision: r.modRevision };
  }

  /** The highest sequence number of the service (0: none yet); listed once, then kept. */
  async lastSeq(service: string): Promise<number> {
    if (!this.#lastSeq.has(service)) {
      this.#lastSeq.set(service, (await this.list(service)).at(-1)?.value.seq ?? 0);
    }
    return this.#lastSeq.get(service)!;
  }

  /** Stores a new deployment under the next free sequence number, which it fills in. */
  async create(draft: Omit<Deployment, "seq">): Promise<TrackedDeployment> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const seq = (await this.lastSeq(draft.service)) + 1;
      const value: Deployment = { ...draft, seq };
      const result = await this.#collection(draft.service).put(idOf(seq), value, 0);
      if (result.ok) {
        this.#lastSeq.set(draft.service, seq);
        return { value, revision: result.revision };
      }
      // Someone else took that number: look again.
      this.#lastSeq.delete(draft.service);
    }
    throw new TealError("CONFLICT", `could not allocate a deployment number for ${draft.service}; retry`);
  }

  async update(tracked: TrackedDeployment, value: Deployment): Promise<TrackedDeployment> {
    const result = await this.#collection(value.service).put(idOf(value.seq), value, tracked.revision);
    if (!result.ok) {
      throw new TealError(
        "STORE_CONFLICT",
        `deployment ${value.service} #${value.seq} was changed by someone else; it is no longer ours to update`,
      );
    }
    return { value, revision: result.revision };
  }

  #collection(service: string): RecordCollection<Deployment> {
    let c = this.#collections.get(service);
    if (!c) {
      c = new RecordCollection(this.#store, `deployments/${service}/`, decode);
      this.#collections.set(service, c);
    }
    return c;
  }
}
