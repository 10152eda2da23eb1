/**
 * A small Docker Engine API client over undici: JSON requests and streaming bodies, on a unix
 * socket or a tcp:// address. The API version is negotiated once per engine through `GET /_ping`:
 * the engine's own version, capped at the newest one teal knows (Docker 29+ refuses anything below
 * 1.44, Docker 20.10 speaks 1.41). The endpoints teal uses are the same across these versions.
 */

import type { Readable } from "node:stream";
import { Pool } from "undici";
import { dockerHostSchema } from "../../config/schema.ts";
import { TealError } from "../../domain/errors.ts";

/** The newest API version teal was checked against; a newer engine is spoken to in this one. */
export const MAX_API_VERSION = "1.47";
/** When the engine does not say (no Api-Version header): Docker 20.10's. */
export const FALLBACK_API_VERSION = "1.41";

/** min(engine, MAX_API_VERSION); FALLBACK_API_VERSION when the engine's answer is missing or unreadable. */
export function negotiatedApiVersion(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  const server = parseVersion(value?.trim());
  if (!server) return FALLBACK_API_VERSION;
  const max = parseVersion(MAX_API_VERSION)!;
  return compareVersions(server, max) <= 0 ? `${server[0]}.${server[1]}` : MAX_API_VERSION;
}

function parseVersion(v: string | undefined): [number, number] | undefined {
  const m = v ? /^(\d+)\.(\d+)$/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function compareVersions(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

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

/**
 * Throws CONFIG_INVALID unless `host` is an address teal can speak to (the rule of the config's
 * dockerHostSchema). `source` names where it came from, e.g. "DOCKER_HOST".
 */
export function checkDockerHost(host: string, source: string): void {
  if (dockerHostSchema.safeParse(host).success) return;
  throw new TealError(
    "CONFIG_INVALID",
    `${source} is "${host}", which teal cannot use: set it to unix:///path/to/docker.sock or tcp://HOST:PORT (or an absolute socket path); TLS and ssh:// are not supported yet`,
    { details: { host, source } },
  );
}

export class DockerEngine {
  /** The address as configured, for messages. */
  readonly host: string;
  readonly #pool: Pool;
  #closed = false;
  /** "/v1.xx", once negotiated (a failed negotiation is retried by the next request). */
  #prefix: Promise<string> | undefined;

  /**
   * `host`: unix:///path, tcp://host:port or an absolute socket path (else CONFIG_INVALID, naming
   * `source`). No I/O until the first request.
   */
  constructor(host: string, source = "the Docker host") {
    checkDockerHost(host, source);
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

  /** The API version spoken to this engine, e.g. "1.41"; asks the engine on first use. */
  async apiVersion(): Promise<string> {
    return (await this.#apiPrefix("negotiating the API version")).slice("/v".length);
  }

  /** `what`: the request that needs it, for the message when the engine cannot be reached. */
  #apiPrefix(what: string): Promise<string> {
    if (!this.#prefix) {
      const asking = this.#request("GET", "/_ping", what).then(async (res) => {
        await res.body.dump();
        return `/v${negotiatedApiVersion(res.headers["api-version"])}`;
      });
      asking.catch(() => {
        if (this.#prefix === asking) this.#prefix = undefined;
      });
      this.#prefix = asking;
    }
    return this.#prefix;
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
    const prefix = await this.#apiPrefix(what);
    return this.#request(method, `${prefix}${path}`, what, body, signal, long);
  }

  /** One request on the exact path given (no version prefix). */
  async #request(
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
        path,
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
