/** Hand-written upstreams on 127.0.0.1 port 0 that misbehave at the TCP level, and a refused port. */

import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";

export interface RawUpstream {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves with the next connection the upstream accepts (or the one already waiting). */
  nextConnection(): Promise<Socket>;
  close(): Promise<void>;
}

/** A TCP server that hands every accepted connection to `onConnection` and does nothing else. */
export async function startRawUpstream(onConnection: (socket: Socket) => void = () => {}): Promise<RawUpstream> {
  const sockets = new Set<Socket>();
  const waiting: Socket[] = [];
  const waiters: ((s: Socket) => void)[] = [];
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
    const waiter = waiters.shift();
    if (waiter) waiter(socket);
    else waiting.push(socket);
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
    nextConnection: () => {
      const ready = waiting.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiters.push(resolve));
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
