/** Hand-written upstreams on 127.0.0.1 port 0 that misbehave at the TCP level, and a refused port. */

import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";

export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>;
}

/** A TCP server that hands every accepted connection to `onConnection` and does nothing else. */
export async function startRawUpstream(
  onConnection: (socket: Socket) => void = () => {},
): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The URL of a 127.0.0.1 port that was just free: connecting to it is refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
