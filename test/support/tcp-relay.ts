/**
 * A TCP relay a test owns, between a client and a server (e.g. a teal node and one etcd member):
 * cut() drops every connection and refuses new ones, as a network partition would look to the
 * client; restore() lets connections through again. holdReplies() keeps the connections up but
 * holds back whatever the server sends (the client's requests still get through) until
 * releaseReplies(). Listens on 127.0.0.1, port 0.
 */

import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpRelay {
  /** host:port to dial instead of the target. */
  readonly address: string;
  cut(): void;
  restore(): void;
  /** From now on the server's bytes wait in the relay (in order); the client's still go through. */
  holdReplies(): void;
  /** Delivers what was held, and lets replies through again. */
  releaseReplies(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ upstream: Socket; client: Socket }>();
  let open = true;
  let holding = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    const pair = { upstream, client };
    pairs.add(pair);
    upstream.on("close", () => pairs.delete(pair));
    if (holding) upstream.pause();
    else upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    holdReplies() {
      holding = true;
      for (const { upstream, client } of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    releaseReplies() {
      holding = false;
      for (const { upstream, client } of pairs) upstream.pipe(client);
    },
    close() {
      open = false;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
