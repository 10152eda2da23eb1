/** One HTTP request on its own connection, never rejecting: for health probes and smoke checks. */

import { request } from "node:http";

export interface OneShotReply {
  readonly status: number;
  /** At most maxBodyBytes of the body. */
  readonly body: Buffer;
  /** True when the body was longer than maxBodyBytes and the rest was not read. */
  readonly truncated: boolean;
}

export type OneShotResult = { ok: true; reply: OneShotReply } | { ok: false; reason: string };

export interface OneShotOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Covers connect, request, headers and body. */
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * One HTTP request on its own connection (no agent, no keep-alive). Never rejects: transport
 * failures come back as a short reason ("connection refused", "timed out after 5000 ms", "aborted",
 * or the socket error code). Also used by the deploy smoke checks.
 */
export function requestOnce(url: string, options: OneShotOptions): Promise<OneShotResult> {
  return new Promise((resolve) => {
    const { signal } = options;
    if (signal?.aborted) return resolve({ ok: false, reason: "aborted" });
    let req: ReturnType<typeof request> | undefined;
    let settled = false;
    const settle = (result: OneShotResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      req?.destroy();
      resolve(result);
    };
    const onAbort = () => settle({ ok: false, reason: "aborted" });
    const timer = setTimeout(
      () => settle({ ok: false, reason: `timed out after ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    signal?.addEventListener("abort", onAbort, { once: true });

    try {
      req = request(
        url,
        { method: options.method ?? "GET", headers: options.headers, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const reply = (truncated: boolean) => ({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            truncated,
          });
          res.on("data", (chunk: Buffer) => {
            const room = options.maxBodyBytes - size;
            chunks.push(chunk.subarray(0, room));
            size += Math.min(chunk.length, room);
            if (chunk.length > room) settle({ ok: true, reply: reply(true) });
          });
          res.on("end", () => settle({ ok: true, reply: reply(false) }));
          res.on("error", (err) => settle({ ok: false, reason: reasonFor(err) }));
          res.on("close", () => settle({ ok: false, reason: "connection closed before the body ended" }));
        },
      );
    } catch (err) {
      return settle({ ok: false, reason: `invalid URL ${url}: ${(err as Error).message}` });
    }
    req.on("error", (err) => settle({ ok: false, reason: reasonFor(err) }));
    req.end(options.body);
  });
}

function reasonFor(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case undefined:
      return err.message;
    default:
      return err.code;
  }
}
