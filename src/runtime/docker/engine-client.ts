/**
 * A small Docker Engine API client over undici: JSON requests and streaming bodies, on a unix
 * socket or a tcp:// address. It speaks API 1.41 (Docker 20.10), which newer engines still accept.
 */

import type { Readable } from "node:stream";
import { Pool } from "undici";
import { TealError } from "../../domain/errors.ts";

const API = "/v1.41";

/** What the engine answered with a status >= 400: its message, verbatim. */
export class EngineError extends TealError {
  readonly status: number;
  constructor(status: number, message: string, what: string) {
    super("LAUNCH_FAILED", `${what}: ${message}`, { details: { status } });
    this.status = status;
  }
}

/** $DOCKER_HOST, else the usual socket. */
export function defaultDockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

export class DockerEngine {
  /** The address as configured, for messages. */
  readonly host: string;
  readonly #pool: Pool;
  #closed = false;

  /** `host`: unix:///path, tcp://host:port or an absolute socket path. No I/O until the first request. */
  constructor(host: string) {
    this.host = host;
    const socketPath = host.startsWith("unix://")
      ? host.slice("unix://".length)
      : host.startsWith("/")
        ? host
        : null;
    // Unlimited connections: log follows and container waits each hold one for as long as they last.
    this.#pool = socketPath
      ? new Pool("http://docker", { connect: { socketPath }, connections: null })
      : new Pool(`http://${host.replace(/^tcp:\/\//, "")}`, { connections: null });
  }

  /** One request with a JSON answer; an answer >= 400 rejects with the engine's message. */
  async json<T>(
    method: string,
    path: string,
    what: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await this.#send(method, path, what, body);
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new EngineError(res.statusCode, engineMessage(text), what);
    return { status: res.statusCode, body: (text === "" ? undefined : JSON.parse(text)) as T };
  }

  /** Like json(), but a 404 resolves to undefined. */
  async jsonOrMissing<T>(method: string, path: string, what: string): Promise<T | undefined> {
    try {
      return (await this.json<T>(method, path, what)).body;
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A long-lived streaming answer (logs, pull progress, wait); no timeouts apply. */
  async stream(method: string, path: string, what: string, signal?: AbortSignal): Promise<Readable> {
    const res = await this.#send(method, path, what, undefined, signal, true);
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      throw new EngineError(res.statusCode, engineMessage(text), what);
    }
    return res.body;
  }

  /** True once close() was called: long waits stop retrying. */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.destroy();
  }

  async #send(
    method: string,
    path: string,
    what: string,
    body?: unknown,
    signal?: AbortSignal,
    long = false,
  ) {
    try {
      return await this.#pool.request({
        method: method as "GET",
        path: `${API}${path}`,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        ...(signal ? { signal } : {}),
        ...(long ? { headersTimeout: 0, bodyTimeout: 0 } : { headersTimeout: 60_000, bodyTimeout: 60_000 }),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new TealError(
        "LAUNCH_FAILED",
        `${what}: cannot reach the Docker engine at ${this.host} (${code ?? (err as Error).message}); start dockerd, or set runtime.host or DOCKER_HOST`,
        { cause: err },
      );
    }
  }
}

function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {}
  return text.trim() || "no message";
}
