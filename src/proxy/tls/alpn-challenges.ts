/**
 * ACME TLS-ALPN-01 (RFC 8737) on the TLS listener: while an order for a host is pending, a
 * handshake for that name that offers only the `acme-tls/1` protocol gets the challenge
 * certificate (self-signed, carrying the key authorization's digest), and its connection is closed
 * once the handshake is done, before any HTTP; every other handshake is served as before.
 *
 * Why through the ALPN choice (alpn.ts, the listener's one ALPNCallback, asks `accept`): the
 * certificate must depend on the protocol the client offered, and the SNICallback only hears the
 * server name. OpenSSL asks for the protocol before the certificate in TLS 1.3 (and after it in
 * TLS 1.2), so the ALPN choice marks the connection and the SNICallback that follows serves the
 * challenge certificate to it. A TLS 1.2 `acme-tls/1` handshake is refused
 * (the certificate was chosen already); the CAs' validators (Let's Encrypt's Boulder, pebble)
 * offer TLS 1.3.
 */

import { createSecureContext, type SecureContext, type TLSSocket, type Server as TlsServer } from "node:tls";
import { TLS_PROTOCOL } from "./settings.ts";

export const ACME_TLS_PROTOCOL = "acme-tls/1";

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

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
   * The ALPN choice for a handshake that offered `acme-tls/1` (alpn.ts asks): that protocol when
   * `servername` has a challenge, the connection then getting its certificate from sniCallback;
   * undefined (a TLS alert) for a name without one, or in TLS 1.2, whose certificate is chosen
   * before the protocol.
   */
  accept(socket: TLSSocket, servername: string | undefined): string | undefined {
    const context = this.#contexts.get((servername ?? "").toLowerCase());
    if (context === undefined || this.#chosen.has(socket)) return undefined;
    this.#answering.set(socket, context);
    return ACME_TLS_PROTOCOL;
  }

  /** The listener's SNICallback: the challenge certificate where accept() said so, else `sni`'s. */
  sniCallback(sni: SniCallback): SniCallback {
    const answering = this.#answering;
    const chosen = this.#chosen;
    // node:tls calls it with the connection's TLSSocket as `this`.
    return function (this: TLSSocket, servername, cb) {
      chosen.add(this);
      const context = answering.get(this);
      if (context !== undefined) cb(null, context);
      else sni(servername, cb);
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
