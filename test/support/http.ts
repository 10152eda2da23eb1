/** Small HTTP client helpers for tests: one request, or many over keep-alive connections. */

import { Agent, type buildConnector, request } from "undici";

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export async function get(
  url: string,
  headers: Record<string, string> = {},
  dispatcher?: Agent,
): Promise<Reply> {
  const res = await request(url, { headers, dispatcher });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

/**
 * Sends `total` requests over `connections` keep-alive connections, `connections` at a time,
 * calling `onReply` for each; network errors are counted, never thrown.
 */
export async function load(
  url: string,
  options: {
    total: number;
    connections: number;
    headers?: (i: number) => Record<string, string>;
    onReply?: (r: Reply, i: number) => void | Promise<void>;
    /** Checked before each request: true ends the load early. */
    stop?: () => boolean;
    /** How connections are made (an https URL's CA and server name). */
    connect?: buildConnector.BuildOptions;
  },
): Promise<{
  ok: number;
  errors: number;
  non2xx: number;
  statuses: Map<number, number>;
  bodies: Map<string, number>;
  /** The first few network errors and non-2xx answers, for an assertion's message. */
  samples: string[];
}> {
  const agent = new Agent({ connections: options.connections, pipelining: 1, connect: options.connect });
  const statuses = new Map<number, number>();
  const bodies = new Map<string, number>();
  let next = 0;
  let ok = 0;
  let errors = 0;
  let non2xx = 0;
  const samples: string[] = [];
  const sample = (what: string) => samples.length < 5 && samples.push(what);
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= options.total || options.stop?.()) return;
      try {
        const r = await get(url, options.headers?.(i) ?? {}, agent);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
        if (r.status >= 200 && r.status < 300) ok++;
        else {
          non2xx++;
          sample(`request ${i}: ${r.status} ${r.body.slice(0, 200)}`);
        }
        await options.onReply?.(r, i);
      } catch (error) {
        errors++;
        sample(
          `request ${i}: ${(error as Error).message} (${(error as { code?: string }).code ?? "no code"})`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  await agent.close();
  return { ok, errors, non2xx, statuses, bodies, samples };
}
