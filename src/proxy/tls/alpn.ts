/**
 * The TLS listener's one choice of application protocol (ALPN), whatever server runs under it:
 * HTTP/2 when it is on and the client offers it, else HTTP/1.1; with TLS-ALPN-01, `acme-tls/1`
 * for a name whose challenge is pending (alpn-challenges.ts). A client that offers none of these
 * fails its handshake with a TLS alert; one that offers no ALPN at all gets HTTP/1.1 (the server
 * reads a connection without a protocol as HTTP/1.1).
 */

import type { TLSSocket } from "node:tls";
import { ACME_TLS_PROTOCOL, type AlpnChallenges } from "./alpn-challenges.ts";

export type AlpnCallback = (
  this: TLSSocket,
  arg: { servername: string; protocols: string[] },
) => string | undefined;

/** `protocols`: the ones served, best first; `challenges`: with TLS-ALPN-01 only. */
export function alpnCallback(
  protocols: readonly string[],
  challenges: AlpnChallenges | undefined,
): AlpnCallback {
  return function (this: TLSSocket, { servername, protocols: offered }) {
    if (offered.includes(ACME_TLS_PROTOCOL)) return challenges?.accept(this, servername);
    return protocols.find((p) => offered.includes(p));
  };
}
