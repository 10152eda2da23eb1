/**
 * Parking an idle client connection: its net.Socket goes and only the socket's TCP handle stays,
 * still reading. A net.Socket with its two stream states and listeners is most of what an idle
 * keep-alive connection costs (about 4 KiB of RSS each, with the heap it keeps, against about
 * 1.2 KiB for a bare handle: README "Performance"). Whatever the parked handle reads next (bytes,
 * the end, an error) first wraps it in a new net.Socket, as net.Server does with an accepted
 * handle, and then goes to that socket's own read callback, as if it had been there all along.
 *
 * This leans on net's internals, none of them documented: a socket's `_handle` (which
 * connection.ts already reads), the handle's `onread` callback, its `reading` flag and its owner
 * symbol, and the `_server` a server's socket counts itself against (its `_connections`, which
 * maxConnections and close() wait on). parkableHandle() checks each one on the socket at hand before it
 * parks it; on a Node where one is not as expected, nothing parks and connections keep their
 * sockets as before. A parked connection still counts as one of its server's connections: the
 * socket made for it on waking counts against the server instead of the one that went.
 */

import { type Server, Socket, type SocketConstructorOpts } from "node:net";

/** A TCP handle (Node's TCPWrap), as net.Socket holds it. */
export interface TcpHandle {
  onread: unknown;
  reading?: boolean;
  readonly writeQueueSize?: number;
  [key: symbol]: unknown;
}

interface SocketInternals {
  _handle: TcpHandle | null;
  _server: Server | null;
  server: Server | null;
}

/** The symbol net puts the socket under on its handle; null once looked for and not found. */
let ownerSymbol: symbol | null | undefined;

function findOwnerSymbol(handle: TcpHandle): symbol | null {
  ownerSymbol ??=
    Object.getOwnPropertySymbols(handle).find((symbol) => symbol.description === "owner_symbol") ?? null;
  return ownerSymbol;
}

/**
 * The handle of a socket `server` accepted, when the socket can let go of it now: a plain TCP
 * socket (not TLS), open both ways, reading, with nothing buffered either way. Undefined
 * otherwise, and whenever net's internals are not what this module expects.
 */
export function parkableHandle(socket: Socket, server: Server): TcpHandle | undefined {
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (handle == null || internals._server !== server) return undefined;
  if (typeof (server as unknown as { _connections?: unknown })._connections !== "number") return undefined;
  if (handle.reading !== true || typeof handle.onread !== "function") return undefined;
  const owner = findOwnerSymbol(handle);
  if (owner === null || handle[owner] !== socket) return undefined;
  if (socket.destroyed || !socket.readable || !socket.writable || socket.readableLength !== 0)
    return undefined;
  if (socket.writableLength !== 0 || (handle.writeQueueSize ?? 0) !== 0) return undefined;
  return handle;
}

/**
 * The socket lets go of its handle (from parkableHandle) for good; `onread` hears the handle's
 * next read, with `this` the handle, and must call unpark() before anything else. `owner` is
 * what parkedOwner() then finds on the handle.
 */
export function park(
  socket: Socket,
  handle: TcpHandle,
  onread: (this: TcpHandle, ...args: unknown[]) => unknown,
  owner: object,
): void {
  handle.onread = onread;
  // The owner slot net keeps on the handle holds the parked connection: no property is added to
  // every parked handle (24 bytes each), and Node reads the slot only in the callbacks of reads
  // (onread is ours now) and writes (a parked connection writes nothing).
  handle[ownerSymbol!] = owner;
  const internals = socket as unknown as SocketInternals;
  internals._handle = null;
  internals._server = null;
  internals.server = null;
}

/** What park() left on a parked handle. */
export function parkedOwner(handle: TcpHandle): unknown {
  return handle[ownerSymbol!];
}

/**
 * A new socket for a parked handle, counted against `server` as the one that went was. Should net
 * not take the handle as expected, the socket comes back destroyed (its 'close' follows).
 */
export function unpark(handle: TcpHandle, server: Server): Socket {
  const parkedOnRead = handle.onread;
  // The handle still reads (`reading` is true): the socket takes it as it is, and starts nothing.
  const options = { handle, readable: true, writable: true }; // `handle` is what net.Server passes too
  const socket = new Socket(options as SocketConstructorOpts);
  const internals = socket as unknown as SocketInternals;
  internals._server = server;
  internals.server = server;
  if (handle.onread === parkedOnRead || internals._handle !== handle) socket.destroy();
  return socket;
}
