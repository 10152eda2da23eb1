/** A set of IP addresses and CIDR ranges, matched with node's BlockList. */

import { BlockList, isIP } from "node:net";

export class AddressList {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  constructor(entries: readonly string[]) {
    this.#empty = entries.length === 0;
    for (const entry of entries) {
      const [addr, bits] = entry.split("/") as [string, string | undefined];
      const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.#list.addAddress(addr, type);
      else this.#list.addSubnet(addr, Number(bits), type);
    }
  }

  has(address: string | undefined): boolean {
    if (this.#empty || address === undefined) return false;
    if (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4) address = address.slice(7);
    return this.#list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
  }
}
