/**
 * ACME's side of the proxy workers. The orderer (acme/orderer.ts) runs in the control process
 * only, so one process orders and renews; what it gets reaches every worker from here: each
 * certificate it serves and each challenge pending (HTTP-01 tokens, TLS-ALPN-01 certificates). Both are kept, so a worker that
 * starts later (the replacement of one that died) gets them before its first spec, and so before
 * it listens. A call resolves once every worker has it in force: the CA's validation request, and
 * the first handshake after an order, may reach whichever worker accepts the connection.
 */

import type { CertificateListener } from "../acme/orderer.ts";
import type { AcmeToWorker } from "./messages.ts";

/** A worker's reply when it could not take what it was sent. */
export interface WorkerRefusal {
  readonly error: string;
}

export class WorkerCertificates<W> implements CertificateListener {
  readonly #send: (worker: W, message: AcmeToWorker) => Promise<unknown>;
  readonly #workers = new Set<W>();
  readonly #certificates = new Map<string, { readonly cert: string; readonly key: string }>();
  readonly #challenges = new Map<string, string>();
  readonly #alpnChallenges = new Map<string, { readonly cert: string; readonly key: string }>();

  /** `send` resolves with the worker's reply (undefined when the worker went meanwhile). */
  constructor(send: (worker: W, message: AcmeToWorker) => Promise<unknown>) {
    this.#send = send;
  }

  /**
   * A worker that takes messages from now on: it is sent what is in force first. Call it before
   * the worker's first spec (which makes it listen): the messages arrive in the order sent.
   */
  join(worker: W): void {
    this.#workers.add(worker);
    // A worker that does not answer is replaced (cluster-data-plane.ts); nobody waits on these.
    const ignore = () => {};
    for (const [host, pem] of this.#certificates) {
      this.#send(worker, { t: "certificate", id: 0, host, cert: pem.cert, key: pem.key }).catch(ignore);
    }
    for (const [token, keyAuthorization] of this.#challenges) {
      this.#send(worker, { t: "challenge", id: 0, token, keyAuthorization }).catch(ignore);
    }
    for (const [host, pem] of this.#alpnChallenges) {
      this.#send(worker, { t: "alpn-challenge", id: 0, host, pem }).catch(ignore);
    }
  }

  leave(worker: W): void {
    this.#workers.delete(worker);
  }

  /** Every worker serves this certificate for `host` from its next handshake; throws if one refuses it. */
  async provideCertificate(host: string, cert: string, key: string): Promise<void> {
    await this.#everywhere({ t: "certificate", id: 0, host, cert, key });
    this.#certificates.set(host, { cert, key });
  }

  /** Every worker answers this token on the plain listener (undefined: none does any more). */
  async setChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    if (keyAuthorization === undefined) this.#challenges.delete(token);
    else this.#challenges.set(token, keyAuthorization);
    await this.#everywhere(
      keyAuthorization === undefined
        ? { t: "challenge", id: 0, token }
        : { t: "challenge", id: 0, token, keyAuthorization },
    );
  }

  /** Every worker serves this TLS-ALPN-01 certificate for `host` (undefined: none does any more). */
  async setAlpnChallenge(host: string, pem: { cert: string; key: string } | undefined): Promise<void> {
    if (pem === undefined) this.#alpnChallenges.delete(host);
    else this.#alpnChallenges.set(host, pem);
    await this.#everywhere(
      pem === undefined ? { t: "alpn-challenge", id: 0, host } : { t: "alpn-challenge", id: 0, host, pem },
    );
  }

  async #everywhere(message: AcmeToWorker): Promise<void> {
    const replies = await Promise.all([...this.#workers].map((w) => this.#send(w, message)));
    const refused = replies.find((r): r is WorkerRefusal => typeof (r as WorkerRefusal)?.error === "string");
    if (refused !== undefined) throw new Error(refused.error);
  }
}
