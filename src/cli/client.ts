/** The CLI's HTTP client for the admin API; the CLI has no other way into the server. */

import { type ErrorCode, TealError } from "../domain/errors.ts";

export class AdminClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;

  constructor(baseUrl: string, token: string | undefined) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.#token = token;
  }

  get<T>(path: string): Promise<T> {
    return this.#request<T>("GET", path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#request<T>("POST", path, body);
  }

  /** A streaming GET (event stream, log follow); non-2xx answers throw like any other call. */
  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#fetch("GET", path);
    if (!res.ok || !res.body) await this.#parse(res, path);
    return res.body!;
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#parse<T>(await this.#fetch(method, path, body), path);
  }

  async #fetch(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(this.baseUrl + path, {
        method,
        headers: {
          "user-agent": "teal-cli/1",
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new TealError(
        "SERVER_UNREACHABLE",
        `cannot reach the teal server at ${this.baseUrl} (${causeOf(err)}); is 'teal server' running? Use --admin URL or --data-dir to point at it`,
      );
    }
  }

  async #parse<T>(res: Response, path: string): Promise<T> {
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new TealError("INTERNAL", `unexpected answer from ${this.baseUrl}${path}: HTTP ${res.status}`);
    }
    if (!res.ok) {
      const e = (
        json as { error?: { code?: ErrorCode; message?: string; details?: Record<string, unknown> } }
      ).error;
      throw new TealError(e?.code ?? "INTERNAL", e?.message ?? `HTTP ${res.status}`, { details: e?.details });
    }
    return json as T;
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(err);
}
