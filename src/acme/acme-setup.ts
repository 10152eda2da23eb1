/** Builds the orderer for proxy.tls.acme: its records in the store, the CA client, log lines. */

import { readFileSync } from "node:fs";
import type { ProxyConfig } from "../config/schema.ts";
import type { Clock } from "../domain/clock.ts";
import { TealError } from "../domain/errors.ts";
import type { Logger } from "../log/logger.ts";
import type { AcmeCertificateSource } from "../proxy/tls/certificate-views.ts";
import type { Store } from "../store/store.ts";
import { AcmeClientAuthority } from "./acme-client-authority.ts";
import { AcmeRecords } from "./acme-records.ts";
import { AcmeOrderer, type CertificateListener } from "./orderer.ts";

type AcmeConfig = NonNullable<NonNullable<ProxyConfig["tls"]>["acme"]>;
/** proxy.tls.acme; `challenge` left out: http-01, as in the config. */
export type AcmeSettings = Omit<AcmeConfig, "challenge"> & { readonly challenge?: AcmeConfig["challenge"] };

export interface AcmeDeps {
  readonly store: Store;
  readonly listener: CertificateListener;
  readonly clock: Clock;
  readonly log: Logger;
  readonly node: string;
  /** Faster polling and retries than a real CA warrants (tests against pebble). */
  readonly tuning?: {
    readonly pollMs?: { readonly min: number; readonly max: number };
    readonly retry?: { readonly firstMs: number; readonly maxMs: number };
  };
}

/** Throws CONFIG_INVALID naming proxy.tls.acme.caFile when that file cannot be read. */
export function createOrderer(settings: AcmeSettings, deps: AcmeDeps): AcmeOrderer {
  const records = new AcmeRecords(deps.store);
  const authority = new AcmeClientAuthority(
    {
      directory: settings.directory,
      email: settings.email,
      challenge: settings.challenge ?? "http-01",
      ...(settings.caFile === undefined ? {} : { ca: readCa(settings.caFile) }),
      ...(deps.tuning?.pollMs === undefined ? {} : { pollMs: deps.tuning.pollMs }),
    },
    records,
  );
  const { log } = deps;
  return new AcmeOrderer({
    hosts: settings.hosts,
    renewBeforeDays: settings.renewBeforeDays,
    authority,
    records,
    listener: deps.listener,
    clock: deps.clock,
    node: deps.node,
    ...(deps.tuning?.retry === undefined ? {} : { retry: deps.tuning.retry }),
    events: {
      ordering: (host, renewal) =>
        log.info(
          { host, directory: settings.directory },
          renewal ? "acme: renewing certificate" : "acme: ordering certificate",
        ),
      issued: (host, notAfter) => log.info({ host, notAfter }, "acme: certificate issued and served"),
      loaded: (host, notAfter) => log.info({ host, notAfter }, "acme: stored certificate served"),
      failed: (host, err, retryInMs) =>
        log.warn({ host, err: err.message, retryInMs }, "acme: order failed; retrying later"),
    },
  });
}

/**
 * The proxy takes challenges and certificates: in this process (LocalDataPlane), or in every
 * proxy worker (ClusterDataPlane). The orderer itself runs in this process only.
 */
export function asCertificateListener(plane: object): CertificateListener {
  const p = plane as Partial<CertificateListener>;
  if (
    typeof p.provideCertificate !== "function" ||
    typeof p.setChallenge !== "function" ||
    typeof p.setAlpnChallenge !== "function"
  ) {
    throw new TealError(
      "CONFIG_INVALID",
      "proxy.tls.acme: this data plane cannot take certificates (a bug in teal: report it)",
    );
  }
  return p as CertificateListener;
}

/** What GET /v1/status's `tls` section reads of ACME: the orderer's status, the stored certificates. */
export function acmeCertificateSource(orderer: AcmeOrderer, store: Store): AcmeCertificateSource {
  const records = new AcmeRecords(store);
  return {
    status: () => orderer.status(),
    pem: async (host) => (await records.certificate(host))?.value.cert,
  };
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new TealError(
      "CONFIG_INVALID",
      `proxy.tls.acme.caFile: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the path and that teal may read it`,
      { cause: err },
    );
  }
}
