/** The ACME port: a CA that issues a certificate for one host once teal answers its challenge. */

/** Where teal publishes HTTP-01 key authorizations (the plain listener answers them). */
export interface ChallengeBoard {
  setChallenge(token: string, keyAuthorization: string | undefined): Promise<void>;
}

export interface IssuedCertificate {
  /** PEM: the leaf, then its chain. */
  readonly cert: string;
  /** PEM private key of the leaf (new for every order). */
  readonly key: string;
  readonly notAfter: Date;
}

export interface CertificateAuthority {
  /** Orders, validates (HTTP-01 through `board`) and downloads a certificate; throws on failure. */
  issue(host: string, board: ChallengeBoard): Promise<IssuedCertificate>;
}
