/** A TLS listener's settings as plain data (they cross into proxy workers as JSON). */

/** One certificate: PEM files, the certificate file holding the leaf then its chain. */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
  /** The names this certificate answers for (SNI); left out: the certificate's DNS names. */
  readonly hosts?: readonly string[] | undefined;
}

export interface TlsSettings {
  readonly listen: string;
  /** By SNI; the first one also answers clients that send no (or an unknown) server name. */
  readonly certificates: readonly CertificateFiles[];
  /** Strict-Transport-Security on every answer over TLS; false: not sent. */
  readonly hsts: { readonly maxAge: number; readonly includeSubDomains: boolean } | false;
}
