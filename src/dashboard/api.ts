/** Calls to the admin API, the same one the CLI uses; every failure becomes an ApiError. */

import { readSse, type SseMessage } from "../cli/sse.ts";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(token: string | null, body: boolean): HeadersInit {
  return {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(body ? { "content-type": "application/json" } : {}),
  };
}

async function failure(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return new ApiError(res.status, body.error?.code ?? "HTTP", body.error?.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, "HTTP", `HTTP ${res.status} ${res.statusText}`);
  }
}

export async function getJson<T>(path: string, token: string | null): Promise<T> {
  const res = await fetch(path, { headers: headers(token, false), cache: "no-store" });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** An action; `adminToken` null sends none, so the server refuses it (401). */
export async function postJson<T>(path: string, adminToken: string | null, body: unknown = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: headers(adminToken, true),
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "SERVER_UNREACHABLE", "the teal server did not answer; is it running?");
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A Server-Sent Events stream read with fetch, so that the token goes in a header, not the URL. */
export async function* readEvents(
  path: string,
  token: string | null,
  signal: AbortSignal,
): AsyncGenerator<SseMessage> {
  const res = await fetch(path, {
    headers: { ...headers(token, false), accept: "text/event-stream" },
    signal,
    cache: "no-store",
  });
  if (!res.ok || !res.body) throw await failure(res);
  yield* readSse(res.body);
}
