/**
 * Takeover: a running teal hands its listening sockets (the proxy's and the admin API's) to a new
 * teal process, as nginx's binary upgrade and HAProxy's reload do, so that a restart or an
 * upgrade refuses no connection. The running process spawns the new one with an IPC channel and
 * sends the sockets over it as handles (received close-on-exec: descriptors inherited through
 * stdio would leak into every instance the new teal starts, keeping the port open after it ends):
 * on SIGHUP with its own command line (an upgrade installed in place runs the new build), or on
 * `teal server --takeover` with that command's (which may be another build).
 *
 *   old: refuse new deployments (none may be running) → spawn the new process → send it the
 *        sockets → stop accepting admin requests and let those in flight finish → "go"
 *   new: start (adopt the running instances, load routing from the store) → listen on the
 *        sockets → "serving"
 *   old: stop accepting proxy connections, finish in-flight requests, exit; the instances keep
 *        running for the new process.
 * "go" waits until the old admin API is quiet, so the new process loads the last routing and no
 * two deployers ever act on the store at once. Both accept on the proxy's sockets for a moment:
 * the kernel queues connections on the socket, not in a process, so none is refused.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { TealError } from "../domain/errors.ts";
import type { ListenSockets } from "../proxy/data-plane.ts";
import type { SocketHandle } from "../proxy/engine.ts";

/** How to start the new teal: `execPath ...args` in `cwd`. */
export interface SuccessorCommand {
  readonly execPath: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

/** What the new process reports once it serves. */
export interface SuccessorInfo {
  readonly pid: number;
  readonly proxy: string;
  readonly admin: string;
}

/** The listening sockets: the admin API's and the proxy's (plain, and proxy.tls's). */
export interface ServerSockets {
  readonly admin: SocketHandle;
  readonly proxy: ListenSockets;
}

/** The sockets a new process was handed, and the pid of the teal that handed them. */
export interface InheritedSockets extends ServerSockets {
  readonly from: number;
}

const ENV = "TEAL_TAKEOVER";

/**
 * The messages between the two processes, over the new one's IPC channel. A socket travels as a
 * handle with its message (received with close-on-exec set, so nothing the new teal starts
 * inherits it). Part of the protocol between two teal versions (an upgrade): change it only
 * compatibly.
 */
type ToSuccessor = { t: "socket"; listener: "admin" | "plain" | "tls" } | { t: "go" };
type FromSuccessor = { t: "ready" } | ({ t: "serving" } & SuccessorInfo);

/** This process's own command line: what SIGHUP restarts. */
export function ownCommand(): SuccessorCommand {
  return {
    execPath: process.execPath,
    args: [...process.execArgv, ...process.argv.slice(1)],
    cwd: process.cwd(),
  };
}

/** The pid of the running teal that started this process for a takeover, if one did. */
export function takeoverFrom(): number | undefined {
  const raw = process.env[ENV];
  // Not passed on to what this process starts (instances, its own successor).
  delete process.env[ENV];
  if (raw === undefined || !process.send) return undefined;
  return (JSON.parse(raw) as { from: number }).from;
}

/**
 * Old side: starts the successor with the two listening sockets, calls `quiesce` once it waits
 * for "go", and resolves when it serves. Rejects (and kills it) if it exits or times out first.
 */
export async function startSuccessor(
  command: SuccessorCommand,
  sockets: ServerSockets,
  quiesce: () => Promise<void>,
  timeoutMs: number,
): Promise<SuccessorInfo> {
  const child = spawn(command.execPath, command.args, {
    cwd: command.cwd,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, [ENV]: JSON.stringify({ from: process.pid }) },
  });
  const exited = once(child, "exit").then(([code, signal]) => {
    throw new TealError(
      "LAUNCH_FAILED",
      `the new teal process exited (${signal ?? `code ${code}`}) before serving; its error is in this server's log; this server goes on serving`,
    );
  });
  exited.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new TealError(
          "LAUNCH_FAILED",
          `the new teal process did not serve within ${timeoutMs / 1000} s and was stopped; this server goes on serving`,
        ),
      );
    }, timeoutMs);
  });
  try {
    const info = await Promise.race([
      (async () => {
        await message(child, "ready");
        // Sent before the admin API stops listening: closing its server closes this handle.
        await sendSocket(child, "admin", sockets.admin);
        await sendSocket(child, "plain", sockets.proxy.plain);
        if (sockets.proxy.tls !== undefined) await sendSocket(child, "tls", sockets.proxy.tls);
        await quiesce();
        child.send({ t: "go" } satisfies ToSuccessor);
        return (await message(child, "serving")) as SuccessorInfo;
      })(),
      exited,
      timedOut,
    ]);
    child.disconnect();
    child.unref();
    return { pid: info.pid, proxy: info.proxy, admin: info.admin };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function message(child: ChildProcess, t: FromSuccessor["t"]): Promise<FromSuccessor> {
  return new Promise((resolve) => {
    const on = (m: FromSuccessor) => {
      if (m?.t !== t) return;
      child.off("message", on);
      resolve(m);
    };
    child.on("message", on);
  });
}

function sendSocket(child: ChildProcess, listener: "admin" | "plain" | "tls", handle: SocketHandle) {
  return new Promise<void>((resolve, reject) =>
    // A raw handle travels like a server's (node:cluster sends them so); the types know only those.
    child.send({ t: "socket", listener } satisfies ToSuccessor, handle as never, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/**
 * New side: tells the old process it is ready and receives the sockets; resolves with them at
 * "go" (the old admin API is quiet then).
 */
export function awaitSockets(from: number): Promise<InheritedSockets> {
  const got: { admin?: SocketHandle; plain?: SocketHandle; tls?: SocketHandle } = {};
  return new Promise((resolve, reject) => {
    process.on("message", function receive(m: ToSuccessor, handle?: SocketHandle) {
      if (m?.t === "socket") got[m.listener] = handle;
      if (m?.t !== "go") return;
      process.off("message", receive);
      if (got.admin === undefined || got.plain === undefined)
        reject(new TealError("INTERNAL", "the teal taking over did not receive the listening sockets"));
      else resolve({ admin: got.admin, proxy: { plain: got.plain, tls: got.tls }, from });
    });
    process.send!({ t: "ready" } satisfies FromSuccessor);
  });
}

/** New side: it serves; the channel to the old process closes. */
export function announceServing(info: SuccessorInfo): void {
  process.send!({ t: "serving", ...info } satisfies FromSuccessor, () => process.disconnect());
}

/** The takeover socket's answer to `teal server --takeover`. */
export type TakeoverReply =
  | { ok: true; from: number; successor: SuccessorInfo }
  | { ok: false; code: TealError["code"]; message: string };

/**
 * Old side: listens on the data directory's takeover socket (reachable only by teal's user: the
 * directory is 0700) for one JSON line, the command to start, and answers with one JSON line.
 */
export async function listenForTakeovers(
  path: string,
  takeOver: (command: SuccessorCommand) => Promise<TakeoverReply>,
): Promise<Server> {
  // A socket left by a crashed teal (this data directory is claimed: no other teal uses it).
  await rm(path, { force: true });
  const server = createServer((socket) => {
    let line = "";
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("data", async (chunk: string) => {
      line += chunk;
      if (!line.includes("\n")) {
        if (line.length > 65_536) socket.destroy();
        return;
      }
      socket.pause();
      let reply: TakeoverReply;
      try {
        reply = await takeOver(parseCommand(line.slice(0, line.indexOf("\n"))));
      } catch (err) {
        reply = { ok: false, code: (err as TealError).code ?? "INTERNAL", message: (err as Error).message };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

function parseCommand(line: string): SuccessorCommand {
  const c = JSON.parse(line) as Partial<SuccessorCommand>;
  if (typeof c.execPath !== "string" || !Array.isArray(c.args) || typeof c.cwd !== "string")
    throw new TealError("INVALID_REQUEST", "a takeover request names execPath, args and cwd");
  return { execPath: c.execPath, args: c.args.map(String), cwd: c.cwd };
}

/** `teal server --takeover`: asks the running teal to hand over to `command`; resolves with its answer. */
export async function requestTakeover(path: string, command: SuccessorCommand): Promise<TakeoverReply> {
  const socket = connect(path);
  socket.setEncoding("utf8");
  let answer = "";
  socket.on("data", (d: string) => {
    answer += d;
  });
  try {
    await once(socket, "connect");
  } catch (err) {
    throw new TealError(
      "SERVER_UNREACHABLE",
      `no running teal server to take over from on this data directory (${path}: ${(err as NodeJS.ErrnoException).code}); start one without --takeover`,
    );
  }
  socket.write(`${JSON.stringify(command)}\n`);
  await once(socket, "end");
  socket.destroy();
  try {
    return JSON.parse(answer) as TakeoverReply;
  } catch {
    throw new TealError("INTERNAL", "the running teal server closed the takeover socket without an answer");
  }
}
