/**
 * Which store a server uses, from `teal server --store URL [--store-prefix P]`: SQLite in the
 * data directory (the default, one machine), or an etcd cluster (`etcd://h1:2379,h2:2379`).
 */

import { TealError } from "../domain/errors.ts";
// etcd-keys, not etcd-store: choosing the store must not load etcd's client (~25 MiB).
import { DEFAULT_ETCD_PREFIX } from "./etcd/etcd-keys.ts";

export type StoreChoice =
  | { readonly kind: "sqlite" }
  | { readonly kind: "etcd"; readonly endpoints: readonly string[]; readonly prefix: string };

const USAGE = "expected sqlite, or etcd://HOST:PORT[,HOST:PORT...] (e.g. etcd://10.0.0.1:2379,10.0.0.2:2379)";

/** Parses the --store and --store-prefix options; a bad value is a USAGE error naming the option. */
export function parseStoreChoice(url: string | undefined, prefix: string | undefined): StoreChoice {
  if (url === undefined || url === "sqlite") {
    if (prefix !== undefined)
      throw usage(`--store-prefix ${prefix}: only an etcd store has a prefix; add --store etcd://…`);
    return { kind: "sqlite" };
  }
  const match = /^etcd:\/\/(.*)$/.exec(url);
  if (!match) throw usage(`--store ${url}: unknown store; ${USAGE}`);
  const hosts = (match[1] as string).split(",");
  const endpoints = hosts.map((host) => {
    const parsed = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(host);
    const port = Number(parsed?.[2]);
    if (!parsed || port < 1 || port > 65_535) {
      throw usage(`--store ${url}: "${host}" is not HOST:PORT; ${USAGE}`);
    }
    return `http://${parsed[1]}:${port}`;
  });
  return { kind: "etcd", endpoints, prefix: parsePrefix(prefix ?? DEFAULT_ETCD_PREFIX) };
}

function parsePrefix(prefix: string): string {
  if (!/^\/[\x21-\x7e]+$/.test(prefix) || /^\/+$/.test(prefix)) {
    throw usage(
      `--store-prefix ${JSON.stringify(prefix)}: must start with / and name a key prefix without spaces, e.g. /teal or /prod/teal`,
    );
  }
  return prefix.replace(/\/+$/, "");
}

function usage(message: string): TealError {
  return new TealError("USAGE", message, { details: { field: "--store" } });
}
