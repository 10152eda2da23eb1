/**
 * What runs in each color of a service, one record per service under `slots/<service>`; on a
 * fleet with agents each node keeps its own, under `slots/<node>/<service>` (its instances are its
 * own), and the leader's tasks follow its saves (`onSaved`).
 */

import { TealError } from "../domain/errors.ts";
import { EMPTY_SLOTS, isServiceSlots, type ServiceSlots } from "../domain/slot.ts";
import { RecordCollection } from "../store/records.ts";
import type { Store } from "../store/store.ts";

export class SlotRepository {
  readonly #records: RecordCollection<ServiceSlots>;
  readonly #revisions = new Map<string, number>();
  readonly #id: (service: string) => string;
  readonly #onSaved: ((service: string) => Promise<void>) | undefined;

  constructor(
    store: Store,
    options: { readonly node?: string; readonly onSaved?: (service: string) => Promise<void> } = {},
  ) {
    const node = options.node;
    this.#id = node === undefined ? (service) => service : (service) => `${node}/${service}`;
    this.#onSaved = options.onSaved;
    this.#records = new RecordCollection(store, "slots/", (json) => {
      if (!isServiceSlots(json)) throw new Error("not a slots record");
      return json;
    });
  }

  /** The stored slots, or empty ones; a corrupt record is quarantined and reported. */
  async load(service: string): Promise<{ slots: ServiceSlots; corrupt: boolean }> {
    try {
      const r = await this.#records.get(this.#id(service));
      this.#revisions.set(service, r?.modRevision ?? 0);
      return { slots: r?.value ?? EMPTY_SLOTS, corrupt: false };
    } catch {
      await this.#records.list(); // moves the undecodable record to quarantine/
      this.#revisions.set(service, 0);
      return { slots: EMPTY_SLOTS, corrupt: true };
    }
  }

  /** Compare-and-swap against the revision this process last read or wrote. */
  async save(service: string, slots: ServiceSlots): Promise<void> {
    const result = await this.#records.put(this.#id(service), slots, this.#revisions.get(service) ?? 0);
    if (!result.ok) {
      throw new TealError("STORE_CONFLICT", `slots of ${service} were changed by another writer`);
    }
    this.#revisions.set(service, result.revision);
    await this.#onSaved?.(service);
  }
}
