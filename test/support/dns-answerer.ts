/**
 * A tiny DNS server on UDP 127.0.0.1 for pebble's `-dnsserver`: it answers A queries for the
 * names a test lists (pebble then validates HTTP-01 against that address), an empty answer for
 * other types of those names (AAAA, CAA), and NXDOMAIN for every other name.
 */

import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";

export interface DnsAnswerer {
  /** 127.0.0.1:PORT, for `pebble -dnsserver`. */
  readonly address: string;
  /** Names (lower case, no trailing dot) and the IPv4 address their A query gets. */
  readonly names: Map<string, string>;
  close(): Promise<void>;
}

const A = 1;

export async function startDnsAnswerer(names: Record<string, string> = {}): Promise<DnsAnswerer> {
  const table = new Map(Object.entries(names));
  const socket: Socket = createSocket("udp4");
  socket.on("message", (query, peer) => {
    const answer = answerTo(query, table);
    if (answer !== undefined) socket.send(answer, peer.port, peer.address);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return {
    address: `127.0.0.1:${socket.address().port}`,
    names: table,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function answerTo(query: Buffer, table: ReadonlyMap<string, string>): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const len = query[at]!;
    labels.push(query.subarray(at + 1, at + 1 + len).toString("latin1"));
    at += 1 + len;
  }
  const questionEnd = at + 5;
  if (questionEnd > query.length) return undefined;
  const type = query.readUInt16BE(at + 1);
  const ip = table.get(labels.join(".").toLowerCase());
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, the client's RD, RA; rcode 3 (NXDOMAIN) for names the test did not list.
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (ip === undefined ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  const question = query.subarray(12, questionEnd);
  if (ip === undefined || type !== A) return Buffer.concat([header, question]);
  header.writeUInt16BE(1, 6);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(A, 2);
  record.writeUInt16BE(1, 4); // class IN
  record.writeUInt32BE(1, 6); // TTL 1 s
  record.writeUInt16BE(4, 10);
  for (const [i, octet] of ip.split(".").entries()) record.writeUInt8(Number(octet), 12 + i);
  return Buffer.concat([header, question, record]);
}
