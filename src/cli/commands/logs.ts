/** `teal logs SERVICE [--color C] [--lines N] [--follow]`: the instances' captured output. */

import { TealError } from "../../domain/errors.ts";
import { adminClient, type GlobalOptions } from "../context.ts";

export async function logsCommand(
  service: string,
  opts: GlobalOptions & { color?: string; lines: string; follow?: boolean },
): Promise<number> {
  if (opts.color !== undefined && opts.color !== "blue" && opts.color !== "green") {
    throw new TealError("USAGE", `--color must be blue or green, not "${opts.color}"`);
  }
  if (!/^\d+$/.test(opts.lines))
    throw new TealError("USAGE", `--lines must be a whole number, not "${opts.lines}"`);
  const client = await adminClient(opts);
  const query = new URLSearchParams({ lines: opts.lines, follow: opts.follow ? "true" : "false" });
  if (opts.color) query.set("color", opts.color);
  const body = await client.stream(`/v1/services/${encodeURIComponent(service)}/logs?${query}`);
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
  return 0;
}
