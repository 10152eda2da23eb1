/** The ACME port: a CA that issues a certificate for one host once teal answers its challenge. */

/**
 * Where teal publishes challenges: HTTP-01 key authorizations (the plain listener answers them)
 * and TLS-ALPN-01 certificates (the TLS listener serves them to `acme-tls/1` handshakes).
 */
export interface ChallengeBoard {
  setChallenge(token: string, keyAuthorization: string | undefined): Promise<void>;
  /** The challenge certificate (PEM) for `host`; undefined: the challenge is over. */
  setAlpnChallenge(
    host: string,
    pem: { readonly cert: string; readonly key: string } | undefined,
  ): Promise<void>;
}

export interface IssuedCertificate {
  /** PEM: the leaf, then its chain. */
  readonly cert: string;
  /** PEM private key of the leaf (new for every order). */
  readonly key: string;
  readonly notAfter: Date;
}

export interface CertificateAuthority {
  /** Orders, validates (its challenge through `board`) and downloads a certificate; throws on failure. */
  issue(host: string, board: ChallengeBoard): Promise<IssuedCertificate>;
}
