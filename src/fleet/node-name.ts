/** A fleet node's name: it becomes an etcd key (`nodes/<name>`) and a label in `teal status`. */

import { TealError } from "../domain/errors.ts";

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;

/** The name as given; a missing or malformed one is a USAGE error naming --node and the fix. */
export function parseNodeName(name: string | undefined): string {
  if (name === undefined || name === "") {
    throw usage("--node: a node on a shared store needs a name, e.g. --node edge-1 (unique in the fleet)");
  }
  if (!NAME.test(name)) {
    throw usage(
      `--node ${JSON.stringify(name)}: use 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit, e.g. edge-1`,
    );
  }
  return name;
}

/** `--lease-ttl SECONDS`: how long a silent node stays listed; etcd counts whole seconds. */
export function parseLeaseTtl(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LEASE_TTL_MS;
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 3600) {
    throw new TealError("USAGE", `--lease-ttl ${value}: expected whole seconds from 1 to 3600, e.g. 5`, {
      details: { field: "--lease-ttl" },
    });
  }
  return seconds * 1_000;
}

export const DEFAULT_LEASE_TTL_MS = 5_000;

function usage(message: string): TealError {
  return new TealError("USAGE", message, { details: { field: "--node" } });
}

/** `--ack-timeout SECONDS`: how long a routing write waits for every node to serve it. */
export function parseAckTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_ACK_TIMEOUT_MS;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0 || seconds > 600) {
    throw new TealError(
      "USAGE",
      `--ack-timeout ${value}: expected seconds above 0 and up to 600, e.g. 5 or 0.5`,
      {
        details: { field: "--ack-timeout" },
      },
    );
  }
  return Math.round(seconds * 1_000);
}

export const DEFAULT_ACK_TIMEOUT_MS = 5_000;
