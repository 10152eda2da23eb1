/**
 * Who the client is, behind trusted proxies: nginx's realip rule (set_real_ip_from with
 * real_ip_recursive on). Only a peer in trustedProxies is believed; its X-Forwarded-For is read
 * from the right, each trusted address skipped, and the first untrusted one is the client.
 * Anything to the left of it was written by that client and is never read.
 */

import { isIP } from "node:net";
import type { AddressList } from "../config/address-list.ts";

/** Who sent a request. */
export interface Client {
  /** The direct peer's address. */
  readonly peer: string;
  /** The peer is in trustedProxies. */
  readonly trusted: boolean;
  /** The real client (the peer itself unless the peer is a trusted proxy). */
  readonly address: string;
  /** The address override.allowFrom is matched against; undefined when only trusted proxies are known. */
  readonly overrideFrom: string | undefined;
}

export function clientOf(peer: string, forwardedFor: string | undefined, trusted: AddressList): Client {
  if (!trusted.has(peer)) return { peer, trusted: false, address: peer, overrideFrom: peer };
  const address = realClientAddress(peer, forwardedFor, trusted);
  // A trusted proxy's own address stands for everyone behind it: it never earns the override.
  return { peer, trusted: true, address, overrideFrom: trusted.has(address) ? undefined : address };
}

/**
 * The real client address of a request whose direct peer, `peer`, is trusted. `forwardedFor` is every
 * X-Forwarded-For value joined by commas (undefined when there is none). When every address is
 * trusted, the leftmost one is the client (as nginx does); an entry that is not an IP address stops
 * the walk at the last address read, so garbage never names the client.
 */
function realClientAddress(peer: string, forwardedFor: string | undefined, trusted: AddressList): string {
  if (forwardedFor === undefined) return peer;
  let client = peer;
  let end = forwardedFor.length;
  while (end > 0) {
    const comma = forwardedFor.lastIndexOf(",", end - 1);
    const address = ipOf(forwardedFor.slice(comma + 1, end));
    if (address === undefined) return client;
    client = address;
    if (!trusted.has(address)) return client;
    end = comma < 0 ? 0 : comma;
  }
  return client;
}

/** The IP address in one X-Forwarded-For entry (`1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`), if any. */
function ipOf(entry: string): string | undefined {
  let text = entry.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    text = close < 0 ? "" : text.slice(1, close);
  } else if (text.indexOf(":") === text.lastIndexOf(":")) text = text.split(":")[0]!;
  return isIP(text) === 0 ? undefined : text;
}
