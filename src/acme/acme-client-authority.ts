/**
 * The CertificateAuthority over npm acme-client (RFC 8555): the account key comes from teal's
 * store (created once per directory), each order gets a new ECDSA P-256 key, and the challenge is
 * the one configured: HTTP-01 or TLS-ALPN-01.
 */

import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import * as acme from "acme-client";
import type { AcmeRecords } from "./acme-records.ts";
import type { CertificateAuthority, ChallengeBoard, IssuedCertificate } from "./certificate-authority.ts";

export interface AcmeClientOptions {
  readonly directory: string;
  readonly email: string;
  readonly challenge: "http-01" | "tls-alpn-01";
  /** Extra CAs (PEM) trusted for the directory's HTTPS, beside the system's. */
  readonly ca?: string;
  /** How fast acme-client polls an order and its authorizations (ms): first wait, and cap. */
  readonly pollMs?: { readonly min: number; readonly max: number };
}

export class AcmeClientAuthority implements CertificateAuthority {
  readonly #options: AcmeClientOptions;
  readonly #records: AcmeRecords;
  #client: acme.Client | undefined;

  constructor(options: AcmeClientOptions, records: AcmeRecords) {
    this.#options = options;
    this.#records = records;
    if (options.ca !== undefined) {
      // acme-client sends every request through one shared axios instance: this process has one
      // ACME directory, so its trust is set there. Verification stays on; the CA is added.
      acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, options.ca] });
    }
  }

  async issue(host: string, board: ChallengeBoard): Promise<IssuedCertificate> {
    const client = await this.#accountClient();
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: host, altNames: [host] },
      await acme.crypto.createPrivateEcdsaKey("P-256"),
    );
    const alpn = this.#options.challenge === "tls-alpn-01";
    const cert = await client.auto({
      csr,
      email: this.#options.email,
      termsOfServiceAgreed: true,
      challengePriority: [this.#options.challenge],
      // The CA checks for itself; a check from here would ask this machine's DNS, which may not
      // point at teal (split horizon, a load balancer in front).
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        // The only type in challengePriority: acme-client fails the order if the CA offers none.
        if (!alpn) return board.setChallenge(challenge.token, keyAuthorization);
        const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(
          authz,
          keyAuthorization,
          await acme.crypto.createPrivateEcdsaKey("P-256"),
        );
        await board.setAlpnChallenge(authz.identifier.value, {
          cert: alpnCert.toString(),
          key: alpnKey.toString(),
        });
      },
      challengeRemoveFn: async (authz, challenge) => {
        if (alpn) await board.setAlpnChallenge(authz.identifier.value, undefined);
        else await board.setChallenge(challenge.token, undefined);
      },
    });
    return { cert, key: key.toString(), notAfter: acme.crypto.readCertificateInfo(cert).notAfter };
  }

  async #accountClient(): Promise<acme.Client> {
    if (this.#client !== undefined) return this.#client;
    const { directory, pollMs } = this.#options;
    const accountKey = await this.#records.accountKey(directory, async () =>
      (await acme.crypto.createPrivateEcdsaKey("P-256")).toString(),
    );
    this.#client = new acme.Client({
      directoryUrl: directory,
      accountKey,
      ...(pollMs === undefined ? {} : { backoffMin: pollMs.min, backoffMax: pollMs.max }),
    });
    return this.#client;
  }
}
