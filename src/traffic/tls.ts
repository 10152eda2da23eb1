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
  /** HTTP/2 offered by ALPN beside HTTP/1.1, with these limits; false: HTTP/1.1 only. Left out: the defaults. */
  readonly http2?: Http2Limits | false;
  /** proxy.tls.acme: with tls-alpn-01 the listener answers the CA's `acme-tls/1` handshakes. */
  readonly acme?: { readonly challenge: "http-01" | "tls-alpn-01" } | undefined;
}

/** What one HTTP/2 connection (session) may do before teal closes it with a GOAWAY. */
export interface Http2Limits {
  /** Streams open at once; more are refused (RST_STREAM REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Streams the client cancels (RST_STREAM) in one second; more close the session (rapid reset). */
  readonly maxResetsPerSecond: number;
  /** Memory nghttp2 may hold for the session (HPACK tables, queued frames), in MB. */
  readonly maxSessionMemoryMb: number;
  /** Header fields in one request; more refuse the stream. */
  readonly maxHeaderPairs: number;
}

export const HTTP2_DEFAULTS: Http2Limits = {
  maxConcurrentStreams: 100,
  maxResetsPerSecond: 100,
  maxSessionMemoryMb: 10,
  maxHeaderPairs: 100,
};
