/**
 * What ACME keeps in teal's store, so every node of a fleet on etcd shares it: the account key
 * per directory, each host's certificate, and a lease-held lock per host so that only one node
 * orders a certificate at a time (the lock vanishes with its lease if that node dies).
 */

import { createHash } from "node:crypto";
import { z } from "zod";
import { RecordCollection, type StoredRecord } from "../store/records.ts";
import type { Store } from "../store/store.ts";

export interface StoredCertificate {
  readonly host: string;
  /** PEM: the leaf, then its chain. */
  readonly cert: string;
  /** PEM private key of the leaf. */
  readonly key: string;
  /** ISO time after which the leaf is no longer valid. */
  readonly notAfter: string;
}

export interface StoredAccount {
  readonly directory: string;
  readonly key: string;
}

const certificateSchema = z.strictObject({
  host: z.string(),
  cert: z.string(),
  key: z.string(),
  notAfter: z.iso.datetime(),
});
const accountSchema = z.strictObject({ directory: z.string(), key: z.string() });

/** A lock is held this long at most: an order that takes longer loses it to another node. */
export const LOCK_TTL_MS = 10 * 60_000;
const LOCK_PREFIX = "acme/locks/";

export class AcmeRecords {
  readonly #store: Store;
  readonly certificates: RecordCollection<StoredCertificate>;
  readonly #accounts: RecordCollection<StoredAccount>;

  constructor(store: Store) {
    this.#store = store;
    this.certificates = new RecordCollection(store, "acme/certificates/", (j) => certificateSchema.parse(j));
    this.#accounts = new RecordCollection(store, "acme/accounts/", (j) => accountSchema.parse(j));
  }

  certificate(host: string): Promise<StoredRecord<StoredCertificate> | undefined> {
    return this.certificates.get(host);
  }

  async saveCertificate(value: StoredCertificate): Promise<void> {
    await this.certificates.put(value.host, value);
  }

  /** The account key for this directory: the stored one, else `create()`'s, stored first-wins. */
  async accountKey(directory: string, create: () => Promise<string>): Promise<string> {
    const id = createHash("sha256").update(directory).digest("hex").slice(0, 16);
    const stored = await this.#accounts.get(id);
    if (stored !== undefined) return stored.value.key;
    const key = await create();
    const written = await this.#accounts.put(id, { directory, key }, 0);
    if (written.ok) return key;
    // Another node created it meanwhile: everyone uses that one.
    return (await this.#accounts.get(id))!.value.key;
  }

  /** Takes the host's ordering lock; undefined if another node holds it. Release with the returned function. */
  async lock(host: string, node: string): Promise<(() => Promise<void>) | undefined> {
    const lease = await this.#store.grantLease(LOCK_TTL_MS);
    const put = await this.#store.put(LOCK_PREFIX + host, node, { expectModRevision: 0, lease });
    if (!put.ok) {
      await this.#store.revokeLease(lease);
      return undefined;
    }
    // A lease that expired during a long order is already gone, and so is the lock.
    return () => this.#store.revokeLease(lease).catch(() => {});
  }
}
