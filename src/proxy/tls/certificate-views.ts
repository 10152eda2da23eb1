/**
 * What `GET /v1/status` says of each certificate the TLS listener serves (its `tls` section, which
 * the dashboard shows): one row per host, from the certificate files (re-read when a file's
 * modification time changes, as the listener reloads them) and from ACME (the stored certificate,
 * re-read when the orderer serves a new one), with subject, issuer, expiry, days left and, for
 * ACME, the last order's state and error.
 */

import { X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { CertificateState, CertificateStatus } from "../../acme/orderer.ts";
import type { Clock } from "../../domain/clock.ts";
import type { CertificateFiles } from "../../traffic/tls.ts";
import { dnsNames } from "./certificates.ts";

export interface TlsCertificateView {
  /** The name it is served for (SNI); "*.example.com" for a wildcard. */
  readonly host: string;
  readonly source: "file" | "acme";
  /** The certificate file (source file). */
  readonly file: string | null;
  /** The leaf's subject and issuer, as "CN=app.example.com"; null while none is served or readable. */
  readonly subject: string | null;
  readonly issuer: string | null;
  /** ISO time after which the leaf is no longer valid. */
  readonly notAfter: string | null;
  /** Whole days until notAfter (negative: expired). */
  readonly daysLeft: number | null;
  /** ACME only: the host's order state and the last failure. */
  readonly state: CertificateState | null;
  readonly lastError: string | null;
  /** A file that cannot be read now (the listener keeps serving what it read before). */
  readonly problem: string | null;
}

/** ACME's side: the orderer's status, and the stored certificate of a host. */
export interface AcmeCertificateSource {
  readonly status: () => readonly CertificateStatus[];
  /** The stored certificate's PEM for a host. */
  readonly pem: (host: string) => Promise<string | undefined>;
}

export interface CertificateViewsOptions {
  readonly files: readonly CertificateFiles[];
  readonly acme?: AcmeCertificateSource;
  readonly clock: Clock;
}

interface Leaf {
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: string;
  readonly names: readonly string[];
}

const DAY_MS = 86_400_000;

export class CertificateViews {
  readonly #o: CertificateViewsOptions;
  /** Parsed files by path, with the modification time they were read at. */
  readonly #files = new Map<string, { readonly mtimeMs: number; readonly leaf: Leaf }>();
  /** Parsed ACME certificates by host, with the notAfter the orderer reported for them. */
  readonly #acme = new Map<string, { readonly notAfter: string; readonly leaf: Leaf | undefined }>();

  constructor(options: CertificateViewsOptions) {
    this.#o = options;
  }

  async list(): Promise<TlsCertificateView[]> {
    const rows: TlsCertificateView[] = [];
    for (const files of this.#o.files) rows.push(...this.#fileRows(files));
    for (const status of this.#o.acme?.status() ?? []) rows.push(await this.#acmeRow(status));
    return rows;
  }

  #fileRows(files: CertificateFiles): TlsCertificateView[] {
    let leaf: Leaf;
    try {
      leaf = this.#readFile(files.cert);
    } catch (err) {
      const problem = `cannot read ${files.cert}: ${(err as Error).message}`;
      return (files.hosts ?? [files.cert]).map((host) => ({ ...EMPTY, host, file: files.cert, problem }));
    }
    return (files.hosts ?? leaf.names).map((host) => ({
      ...EMPTY,
      ...this.#leafFields(leaf),
      host,
      file: files.cert,
    }));
  }

  async #acmeRow(status: CertificateStatus): Promise<TlsCertificateView> {
    const row = {
      ...EMPTY,
      host: status.host,
      source: "acme" as const,
      state: status.state,
      lastError: status.lastError,
    };
    if (status.notAfter === null) return row;
    let cached = this.#acme.get(status.host);
    if (cached?.notAfter !== status.notAfter) {
      const pem = await this.#o.acme?.pem(status.host).catch(() => undefined);
      cached = { notAfter: status.notAfter, leaf: pem === undefined ? undefined : parse(pem) };
      this.#acme.set(status.host, cached);
    }
    return cached.leaf === undefined
      ? { ...row, notAfter: status.notAfter, daysLeft: this.#daysLeft(status.notAfter) }
      : { ...row, ...this.#leafFields(cached.leaf) };
  }

  #readFile(path: string): Leaf {
    const { mtimeMs } = statSync(path);
    const cached = this.#files.get(path);
    if (cached?.mtimeMs === mtimeMs) return cached.leaf;
    const leaf = parse(readFileSync(path));
    this.#files.set(path, { mtimeMs, leaf });
    return leaf;
  }

  #leafFields(leaf: Leaf) {
    return {
      subject: leaf.subject,
      issuer: leaf.issuer,
      notAfter: leaf.notAfter,
      daysLeft: this.#daysLeft(leaf.notAfter),
    };
  }

  #daysLeft(notAfter: string): number {
    return Math.floor((Date.parse(notAfter) - this.#o.clock.now()) / DAY_MS);
  }
}

const EMPTY: TlsCertificateView = {
  host: "",
  source: "file",
  file: null,
  subject: null,
  issuer: null,
  notAfter: null,
  daysLeft: null,
  state: null,
  lastError: null,
  problem: null,
};

/** The leaf (the first certificate of a chain file). */
function parse(pem: string | Buffer): Leaf {
  const leaf = new X509Certificate(pem);
  return {
    // X509Certificate writes one attribute per line: "C=US\nO=Let's Encrypt\nCN=R11".
    subject: leaf.subject.split("\n").join(", "),
    issuer: leaf.issuer.split("\n").join(", "),
    notAfter: new Date(leaf.validTo).toISOString(),
    names: dnsNames(leaf),
  };
}
