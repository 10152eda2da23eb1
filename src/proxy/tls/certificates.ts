/**
 * The certificates a TLS listener serves, read from PEM files and chosen by SNI. Reading checks
 * what a user gets wrong (a missing file, a PEM that does not parse, a key of another
 * certificate) and names the config field and the file. `watch` re-reads the files when they
 * change: new handshakes get the new contexts, connections already open keep theirs (a TLS
 * session's keys do not depend on the certificate after the handshake), so nothing is dropped.
 * A change that does not read cleanly (a file half written, a key not yet replaced) keeps the
 * certificates in force and is reported; the next change is read again.
 *
 * `provide` adds a certificate held in memory (ordered over ACME), for one host, ahead of the
 * files' for that name; it takes effect at the next handshake, like a reload.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { createSecureContext, type SecureContext, type Server as TlsServer } from "node:tls";
import { TealError } from "../../domain/errors.ts";
import type { CertificateFiles, TlsSettings } from "../../traffic/tls.ts";
import { TLS_PROTOCOL } from "./settings.ts";

interface Loaded {
  readonly byHost: ReadonlyMap<string, SecureContext>;
  /** "*.example.com" certificates by their suffix ".example.com". */
  readonly wildcards: readonly (readonly [string, SecureContext])[];
  /** Undefined with no certificate files (ACME only): clients without a known name are refused. */
  readonly fallback: SecureContext | undefined;
  /** The default certificate's files, for the server's own (no SNI) context. */
  readonly fallbackPem: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

export class Certificates {
  readonly #settings: TlsSettings;
  #loaded: Loaded;
  /** Provided certificates by host (lower case), consulted before the files'. */
  readonly #provided = new Map<string, SecureContext>();
  #server: TlsServer | undefined;
  #watchers: FSWatcher[] = [];
  #pending: NodeJS.Timeout | undefined;

  /** Throws CONFIG_INVALID naming the field and the file when a certificate cannot be served. */
  constructor(settings: TlsSettings) {
    this.#settings = settings;
    this.#loaded = load(settings);
  }

  /** The options for node:tls / node:https createServer. */
  serverOptions(): { cert?: Buffer; key?: Buffer; SNICallback: SniCallback } & typeof TLS_PROTOCOL {
    return { ...TLS_PROTOCOL, ...this.#loaded.fallbackPem, SNICallback: this.#sni };
  }

  /**
   * Serves this certificate (PEM: leaf then chain) and key for `host` from the next handshake
   * on; connections already open keep theirs. Throws if the key is not the certificate's.
   */
  provide(host: string, cert: string, key: string): void {
    const leaf = new X509Certificate(cert);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) {
      throw new TealError("INVALID_REQUEST", `the key provided for ${host} is not its certificate's`);
    }
    this.#provided.set(host.toLowerCase(), createSecureContext({ ...TLS_PROTOCOL, cert, key }));
  }

  /** The server whose own context (clients without SNI) a reload replaces. */
  attach(server: TlsServer): void {
    this.#server = server;
  }

  /** The context for a server name (provided, exact, then wildcard, then the default). */
  contextFor(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const provided = this.#provided.get(name);
    if (provided !== undefined) return provided;
    const { byHost, wildcards, fallback } = this.#loaded;
    const exact = byHost.get(name);
    if (exact !== undefined) return exact;
    for (const [suffix, context] of wildcards) {
      // One label only, as browsers match *.example.com.
      if (name.endsWith(suffix) && !name.slice(0, -suffix.length).includes(".")) return context;
    }
    return fallback;
  }

  readonly #sni = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const context = this.contextFor(servername);
    // Without a default certificate there is nothing to offer: the handshake ends with an alert.
    if (context === undefined) cb(NO_CERTIFICATE);
    else cb(null, context);
  };

  /** Re-reads every file now; on failure the certificates in force stay and the error is thrown. */
  reload(): void {
    const next = load(this.#settings);
    this.#loaded = next;
    if (next.fallbackPem !== undefined)
      this.#server?.setSecureContext({ ...TLS_PROTOCOL, ...next.fallbackPem });
  }

  /**
   * Watches the files' directories (a renewal usually writes a new file and renames it over the
   * old one, which a watch on the file itself would lose) and reloads shortly after a change, so
   * a cert and key written one after the other are read together.
   */
  watch(events: { reloaded(): void; failed(err: Error): void }, settleMs = 200): void {
    const names = new Map<string, Set<string>>();
    for (const c of this.#settings.certificates) {
      for (const file of [c.cert, c.key]) {
        const dir = dirname(file);
        const set = names.get(dir) ?? new Set<string>();
        set.add(basename(file));
        names.set(dir, set);
      }
    }
    for (const [dir, files] of names) {
      const watcher = watch(dir, (_event, name) => {
        if (name !== null && !files.has(name.toString())) return;
        clearTimeout(this.#pending);
        this.#pending = setTimeout(() => {
          try {
            this.reload();
            events.reloaded();
          } catch (err) {
            events.failed(err as Error);
          }
        }, settleMs);
      });
      watcher.on("error", (err) => events.failed(err));
      this.#watchers.push(watcher);
    }
  }

  close(): void {
    clearTimeout(this.#pending);
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }
}

type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

const NO_CERTIFICATE = new Error("no certificate for this server name yet");

function load(settings: TlsSettings): Loaded {
  const byHost = new Map<string, SecureContext>();
  const wildcards: [string, SecureContext][] = [];
  let first: { context: SecureContext; pem: { cert: Buffer; key: Buffer } } | undefined;
  settings.certificates.forEach((files, i) => {
    const field = `proxy.tls.certificates[${i}]`;
    const { cert, key, names } = readPair(files, field);
    const context = createSecureContext({ ...TLS_PROTOCOL, cert, key });
    first ??= { context, pem: { cert, key } };
    for (const host of files.hosts ?? names) {
      const lower = host.toLowerCase();
      if (lower.startsWith("*.")) wildcards.push([lower.slice(1), context]);
      else if (!byHost.has(lower)) byHost.set(lower, context);
    }
  });
  // None: proxy.tls.acme provides them (the config schema asks for certificates or acme).
  return { byHost, wildcards, fallback: first?.context, fallbackPem: first?.pem };
}

function readPair(files: CertificateFiles, field: string): { cert: Buffer; key: Buffer; names: string[] } {
  const cert = readPem(files.cert, `${field}.cert`);
  const key = readPem(files.key, `${field}.key`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw invalid(
      `${field}.cert: ${files.cert} is not a PEM certificate (${(err as Error).message}): give the certificate file, leaf first then its chain`,
      err,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw invalid(
      `${field}.key: ${files.key} is not a PEM private key (${(err as Error).message}): give the unencrypted key file`,
      err,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw invalid(
      `${field}.key: ${files.key} is not the key of the certificate in ${files.cert}: give the key the certificate was issued for`,
    );
  }
  const names = dnsNames(leaf);
  if (files.hosts === undefined && names.length === 0) {
    throw invalid(
      `${field}.hosts: the certificate in ${files.cert} names no DNS host: list the hosts it serves in hosts`,
    );
  }
  return { cert, key, names };
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalid(
      `${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the path and that teal may read it`,
      err,
    );
  }
}

/** The DNS names in the certificate's subjectAltName ("DNS:a.example, DNS:*.b.example"). */
/** The DNS names a certificate serves (its subjectAltName), as `teal validate` checks them too. */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4));
}

function invalid(message: string, cause?: unknown): TealError {
  return new TealError("CONFIG_INVALID", message, cause === undefined ? undefined : { cause });
}
