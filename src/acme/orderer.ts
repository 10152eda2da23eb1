/**
 * Keeps a certificate for every host of proxy.tls.acme, one reconcile loop per host on the
 * injected clock: serve the stored certificate → when it is missing or due for renewal, take the
 * host's lock in the store → order it from the CA → store it → hand it to the TLS listener (new
 * handshakes get it; open connections keep theirs). A failed order is retried with back-off; a
 * host whose lock another node holds is looked at again shortly (that node stores the result).
 */

import type { Clock, Timer } from "../domain/clock.ts";
import type { AcmeRecords, StoredCertificate } from "./acme-records.ts";
import type { CertificateAuthority, ChallengeBoard } from "./certificate-authority.ts";

/** The TLS listener's side: challenges on the plain listener, certificates on the TLS one. */
export interface CertificateListener extends ChallengeBoard {
  provideCertificate(host: string, cert: string, key: string): Promise<void>;
}

/**
 * missing: none yet, not being ordered; ordering: this node orders it now; waiting: another node
 * holds the host's lock; issued: served and not yet due; failed: the last order failed (a
 * certificate still valid, if any, is served meanwhile) and a retry is scheduled.
 */
export type CertificateState = "missing" | "ordering" | "waiting" | "issued" | "failed";

export interface CertificateStatus {
  readonly host: string;
  readonly state: CertificateState;
  /** ISO expiry of the certificate served; null while none is. */
  readonly notAfter: string | null;
  readonly lastError: string | null;
  /** Orders failed in a row. */
  readonly failures: number;
  /** ISO time of the next check or retry. */
  readonly nextCheckAt: string | null;
}

export interface OrdererEvents {
  ordering?(host: string, renewal: boolean): void;
  issued?(host: string, notAfter: string): void;
  /** A stored certificate (from an earlier start or another node) is now served. */
  loaded?(host: string, notAfter: string): void;
  failed?(host: string, err: Error, retryInMs: number): void;
}

export interface OrdererOptions {
  readonly hosts: readonly string[];
  readonly renewBeforeDays: number;
  readonly authority: CertificateAuthority;
  readonly records: AcmeRecords;
  readonly listener: CertificateListener;
  readonly clock: Clock;
  /** This node's name, written in the lock it holds. */
  readonly node: string;
  readonly events?: OrdererEvents;
  /** Back-off after a failed order: the first wait, doubled each time up to the cap (ms). */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

const DAY_MS = 86_400_000;
/** A host whose lock another node holds is looked at again after this long. */
export const LOCKED_RECHECK_MS = 30_000;
/** Timers longer than a day are cut to one (setTimeout's limit is 24.8 days): the check repeats. */
const MAX_TIMER_MS = DAY_MS;
const DEFAULT_RETRY = { firstMs: 60_000, maxMs: 3_600_000 };

export class AcmeOrderer {
  readonly #o: OrdererOptions;
  readonly #status = new Map<string, CertificateStatus>();
  readonly #timers = new Map<string, Timer>();
  /**
   * The certificate (PEM) the listener serves per host, so an unchanged record is not re-sent.
   * The PEM, not its notAfter: two certificates issued in the same second share a notAfter, and
   * a renewal must never be logged as served while the listener keeps the old one.
   */
  readonly #served = new Map<string, string>();
  #stopped = false;

  constructor(options: OrdererOptions) {
    this.#o = options;
    for (const host of options.hosts) {
      this.#status.set(host, {
        host,
        state: "missing",
        notAfter: null,
        lastError: null,
        failures: 0,
        nextCheckAt: null,
      });
    }
  }

  /** Serves every stored certificate: call before the TLS listener opens, so it has them from its first handshake. */
  async load(): Promise<void> {
    for (const host of this.#o.hosts) {
      const stored = await this.#o.records.certificate(host).catch(() => undefined);
      if (stored !== undefined) await this.#load(stored.value);
    }
  }

  /**
   * Orders what is missing or due: call once the plain listener answers challenges. Resolves
   * when every host's first check has ended (issued, failed, or found current); later checks
   * run on the clock. A start-up need not wait for it.
   */
  async start(): Promise<void> {
    await Promise.all(this.#o.hosts.map((host) => this.#check(host)));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
  }

  status(): CertificateStatus[] {
    return this.#o.hosts.map((h) => this.#status.get(h)!);
  }

  async #check(host: string): Promise<void> {
    if (this.#stopped) return;
    const failures = this.#status.get(host)!.failures;
    try {
      const stored = (await this.#o.records.certificate(host))?.value;
      if (stored !== undefined) await this.#load(stored);
      const dueInMs = stored === undefined ? 0 : this.#renewAt(stored) - this.#o.clock.now();
      if (dueInMs > 0) {
        // Current (perhaps renewed by another node after this one failed): nothing is failing.
        this.#update(host, { state: "issued", failures: 0, lastError: null });
        this.#schedule(host, dueInMs);
        return;
      }
      await this.#orderLocked(host, stored);
    } catch (err) {
      if (this.#stopped) return;
      const error = err instanceof Error ? err : new Error(String(err));
      const { firstMs, maxMs } = this.#o.retry ?? DEFAULT_RETRY;
      const retryInMs = Math.min(maxMs, firstMs * 2 ** failures);
      this.#update(host, { state: "failed", lastError: error.message, failures: failures + 1 });
      this.#o.events?.failed?.(host, error, retryInMs);
      this.#schedule(host, retryInMs);
    }
  }

  /** Orders under the host's lock; throws what the order threw. */
  async #orderLocked(host: string, stored: StoredCertificate | undefined): Promise<void> {
    const release = await this.#o.records.lock(host, this.#o.node);
    if (release === undefined) {
      this.#update(host, { state: "waiting" });
      this.#schedule(host, LOCKED_RECHECK_MS);
      return;
    }
    try {
      // Read again under the lock: the node that held it may have just stored a new one.
      const latest = (await this.#o.records.certificate(host))?.value;
      if (latest !== undefined && latest.notAfter !== stored?.notAfter) {
        this.#schedule(host, 0);
        return;
      }
      this.#update(host, { state: "ordering" });
      this.#o.events?.ordering?.(host, stored !== undefined);
      const issued = await this.#o.authority.issue(host, this.#o.listener);
      if (this.#stopped) return;
      const record = { host, cert: issued.cert, key: issued.key, notAfter: issued.notAfter.toISOString() };
      await this.#o.records.saveCertificate(record);
      await this.#serve(record);
      this.#update(host, { state: "issued", lastError: null, failures: 0 });
      this.#o.events?.issued?.(host, record.notAfter);
      this.#schedule(host, this.#renewAt(record) - this.#o.clock.now());
    } finally {
      await release();
    }
  }

  /** Hands the certificate to the listener unless it serves it already; true if it was new to it. */
  async #serve(certificate: StoredCertificate): Promise<boolean> {
    const { host, notAfter } = certificate;
    if (this.#served.get(host) === certificate.cert) return false;
    await this.#o.listener.provideCertificate(host, certificate.cert, certificate.key);
    this.#served.set(host, certificate.cert);
    this.#update(host, { notAfter });
    return true;
  }

  /** A stored certificate (an earlier start's, or another node's) is served. */
  async #load(certificate: StoredCertificate): Promise<void> {
    if (await this.#serve(certificate)) this.#o.events?.loaded?.(certificate.host, certificate.notAfter);
  }

  #renewAt(certificate: StoredCertificate): number {
    return Date.parse(certificate.notAfter) - this.#o.renewBeforeDays * DAY_MS;
  }

  #schedule(host: string, inMs: number): void {
    this.#timers.get(host)?.cancel();
    if (this.#stopped) return;
    const ms = Math.max(0, Math.min(inMs, MAX_TIMER_MS));
    this.#update(host, { nextCheckAt: new Date(this.#o.clock.now() + ms).toISOString() });
    this.#timers.set(
      host,
      this.#o.clock.setTimeout(() => void this.#check(host), ms),
    );
  }

  #update(host: string, change: Partial<CertificateStatus>): void {
    this.#status.set(host, { ...this.#status.get(host)!, ...change });
  }
}
