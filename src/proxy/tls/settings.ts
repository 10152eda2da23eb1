/**
 * The TLS listener's settings as plain data (they cross into proxy workers as JSON), and the
 * protocol floor every TLS listener of teal's uses.
 */

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

/**
 * TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites only (Mozilla's "intermediate"
 * list). TLS 1.3's suites are all modern and stay Node's defaults.
 */
export const TLS_PROTOCOL = {
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.3",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const;

export function hstsValue(hsts: Exclude<TlsSettings["hsts"], false>): string {
  return `max-age=${hsts.maxAge}${hsts.includeSubDomains ? "; includeSubDomains" : ""}`;
}
