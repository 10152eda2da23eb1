/**
 * `teal deploy` and `teal rollback`: start one on the server, then follow its events live and
 * exit 0 when it succeeded, 1 when it failed (with the reason and the new version's last output).
 */

import { type Deployment, type DeploymentEvent, durationMs } from "../../domain/deployment.ts";
import { TealError } from "../../domain/errors.ts";
import type { AdminClient } from "../client.ts";
import { adminClient, type GlobalOptions } from "../context.ts";
import { color, colorName, EXIT } from "../output.ts";
import { readSse } from "../sse.ts";

export interface DeployOptions extends GlobalOptions {
  readonly version?: string;
  readonly image?: string;
  readonly command?: string;
  readonly env?: string[];
  readonly strategy?: string;
  readonly wait: boolean;
}

const servicePath = (service: string) => `/v1/services/${encodeURIComponent(service)}`;

export async function deployCommand(service: string, opts: DeployOptions): Promise<number> {
  const env = parseEnv(opts.env ?? []);
  if (opts.version === undefined && opts.image === undefined) {
    throw new TealError(
      "USAGE",
      "--version is required (e.g. --version v2), or --image repo:tag for a docker service (the tag is the version)",
    );
  }
  const client = await adminClient(opts);
  const { deployment } = await client.post<{ deployment: Deployment }>(
    `${servicePath(service)}/deployments`,
    {
      ...(opts.version === undefined ? {} : { version: opts.version }),
      ...(opts.image === undefined ? {} : { image: opts.image }),
      ...(opts.strategy === undefined ? {} : { strategy: opts.strategy }),
      ...(opts.command === undefined ? {} : { command: opts.command }),
      ...(env === undefined ? {} : { env }),
    },
  );
  return follow(client, deployment, opts);
}

export async function rollbackCommand(
  service: string,
  opts: GlobalOptions & { wait: boolean },
): Promise<number> {
  const client = await adminClient(opts);
  const { deployment } = await client.post<{ deployment: Deployment }>(
    `${servicePath(service)}/rollback`,
    {},
  );
  return follow(client, deployment, opts);
}

async function follow(
  client: AdminClient,
  d: Deployment,
  opts: GlobalOptions & { wait: boolean },
): Promise<number> {
  if (!opts.wait) {
    if (opts.json) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    else process.stdout.write(`${d.service} #${d.seq} accepted; follow it with: teal history ${d.service}\n`);
    return EXIT.ok;
  }
  const start = Date.parse(d.startedAt);
  if (!opts.json) {
    process.stdout.write(
      `${color.bold(`${d.service} #${d.seq}`)}: ${d.kind} ${d.version} to ${colorName(d.color)}\n`,
    );
  }
  let final: Deployment | undefined;
  const stream = await client.stream(`${servicePath(d.service)}/deployments/${d.seq}/events`);
  try {
    for await (const msg of readSse(stream)) {
      if (msg.event === "end") {
        final = JSON.parse(msg.data) as Deployment;
        break;
      }
      if (!opts.json) process.stdout.write(renderEvent(JSON.parse(msg.data) as DeploymentEvent, start));
    }
  } catch {}
  if (!final) {
    throw new TealError(
      "SERVER_UNREACHABLE",
      `lost the connection to the server while following ${d.service} #${d.seq}; it may still be running: see teal history ${d.service}`,
    );
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(final, null, 2)}\n`);
  else process.stdout.write(`${renderOutcome(final)}\n`);
  return final.outcome === "succeeded" ? EXIT.ok : EXIT.failed;
}

export function renderEvent(e: DeploymentEvent, startMs: number): string {
  const elapsed = `${((Date.parse(e.at) - startMs) / 1000).toFixed(1)}s`.padStart(7);
  const bad = e.type === "failure" || e.type === "crash" || e.message.includes("FAILED");
  const text = bad ? color.red(e.message) : e.message;
  const label = e.type === "phase" && typeof e.data?.phase === "string" ? e.data.phase : e.type;
  let out = `${color.dim(elapsed)}  ${label.padEnd(10)} ${text}\n`;
  const logs = (e.data?.logs ?? []) as { id: string; lines: string[] }[];
  for (const l of logs) {
    out += color.dim(`           last output of ${l.id}:\n`);
    for (const line of l.lines) out += color.dim(`           | ${line}\n`);
  }
  const output = e.data?.output as string[] | undefined;
  if (output?.length) for (const line of output) out += color.dim(`           | ${line}\n`);
  return out;
}

function renderOutcome(d: Deployment): string {
  const took = durationMs(d);
  const time = took === null ? "" : ` in ${(took / 1000).toFixed(1)}s`;
  if (d.outcome === "succeeded")
    return color.green(`✔ ${d.service} ${d.version} is live on ${d.color}${time}`);
  return color.red(
    `✘ ${d.service} #${d.seq} ${d.outcome.replace("_", " ")}${time}: ${d.reason ?? "see teal history"}`,
  );
}

function parseEnv(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new TealError("USAGE", `--env must be KEY=VALUE, not "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}
