/**
 * ACME TLS-ALPN-01 (RFC 8737) on the TLS listener: while an order for a host is pending, a
 * handshake for that name that offers only the `acme-tls/1` protocol gets the challenge
 * certificate (self-signed, carrying the key authorization's digest), and its connection is closed
 * once the handshake is done, before any HTTP; every other handshake is served as before.
 *
 * Why an ALPNCallback: the certificate must depend on the protocol the client offered, and the
 * SNICallback only hears the server name. OpenSSL asks for the protocol before the certificate in
 * TLS 1.3 (and after it in TLS 1.2), so the ALPNCallback marks the connection and the SNICallback
 * that follows serves the challenge certificate to it. A TLS 1.2 `acme-tls/1` handshake is refused
 * (the certificate was chosen already); the CAs' validators (Let's Encrypt's Boulder, pebble)
 * offer TLS 1.3.
 */

import { createSecureContext, type SecureContext, type TLSSocket, type Server as TlsServer } from "node:tls";
import { TLS_PROTOCOL } from "./settings.ts";

export const ACME_TLS_PROTOCOL = "acme-tls/1";

type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

export interface AlpnServerOptions {
  readonly ALPNCallback: (arg: { servername: string; protocols: string[] }) => string | undefined;
  readonly SNICallback: SniCallback;
}

export class AlpnChallenges {
  /** Challenge certificates by host (lower case). */
  readonly #contexts = new Map<string, SecureContext>();
  /** Connections whose ClientHello offered acme-tls/1 for a host with a challenge: their context. */
  readonly #answering = new WeakMap<TLSSocket, SecureContext>();
  /** Connections whose certificate is chosen already (TLS 1.2 chooses it before the protocol). */
  readonly #chosen = new WeakSet<TLSSocket>();

  /** Serves this challenge certificate (PEM) to `acme-tls/1` handshakes for `host`; undefined: stop. */
  set(host: string, pem: { readonly cert: string; readonly key: string } | undefined): void {
    const name = host.toLowerCase();
    if (pem === undefined) this.#contexts.delete(name);
    else this.#contexts.set(name, createSecureContext({ ...TLS_PROTOCOL, cert: pem.cert, key: pem.key }));
  }

  /**
   * The listener's ALPN and SNI callbacks: `protocols` are the ones it serves, best first (the
   * ALPNCallback replaces node:tls's own choice among them); `sni` chooses every other handshake's
   * certificate.
   */
  serverOptions(protocols: readonly string[], sni: SniCallback): AlpnServerOptions {
    const contexts = this.#contexts;
    const answering = this.#answering;
    const chosen = this.#chosen;
    return {
      // node:tls calls both with the connection's TLSSocket as `this`.
      ALPNCallback(this: TLSSocket, { servername, protocols: offered }) {
        if (offered.includes(ACME_TLS_PROTOCOL)) {
          const context = contexts.get((servername ?? "").toLowerCase());
          // No challenge for this name, or TLS 1.2 (its certificate is chosen already): an alert.
          if (context === undefined || chosen.has(this)) return undefined;
          answering.set(this, context);
          return ACME_TLS_PROTOCOL;
        }
        return protocols.find((p) => offered.includes(p));
      },
      SNICallback(this: TLSSocket, servername, cb) {
        chosen.add(this);
        const context = answering.get(this);
        if (context !== undefined) cb(null, context);
        else sni(servername, cb);
      },
    };
  }

  /**
   * The server's `acme-tls/1` connections end after their handshake (RFC 8737: nothing more is
   * exchanged). The server's own handler (node:http2's, which would start an HTTP/2 session on
   * any protocol but http/1.1, or node:https') never sees them: it is wrapped here, so call this
   * before anything else listens for secureConnection.
   */
  attach(server: TlsServer): void {
    const handlers = server.listeners("secureConnection") as ((socket: TLSSocket) => void)[];
    server.removeAllListeners("secureConnection");
    server.on("secureConnection", function (this: TlsServer, socket: TLSSocket) {
      if (socket.alpnProtocol !== ACME_TLS_PROTOCOL) {
        for (const handler of handlers) handler.call(this, socket);
        return;
      }
      socket.on("error", () => socket.destroy());
      socket.end(() => socket.destroy());
    });
  }
}
