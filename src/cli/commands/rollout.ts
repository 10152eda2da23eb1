/** `teal promote|abort` and `teal pause|resume --rollout`: the operator's hand on a running rollout. */

import type { Deployment } from "../../domain/deployment.ts";
import { adminClient, type GlobalOptions } from "../context.ts";
import { color, emit } from "../output.ts";

const path = (service: string, action: string) => `/v1/services/${encodeURIComponent(service)}/${action}`;

export async function promoteCommand(
  service: string,
  opts: GlobalOptions & { full?: boolean },
): Promise<number> {
  const client = await adminClient(opts);
  const { deployment } = await client.post<{ deployment: Deployment }>(path(service, "promote"), {
    full: opts.full === true,
  });
  emit(
    opts.json,
    deployment,
    () =>
      `${service} #${deployment.seq}: ${opts.full ? "promoted fully: remaining steps skipped" : "promoted: the rollout goes on"}`,
  );
  return 0;
}

export async function abortCommand(service: string, opts: GlobalOptions): Promise<number> {
  const client = await adminClient(opts);
  const { deployment } = await client.post<{ deployment: Deployment }>(path(service, "abort"), {});
  emit(opts.json, deployment, () =>
    color.yellow(
      `${service} #${deployment.seq}: aborting: all traffic goes back to ${deployment.from.color}`,
    ),
  );
  return 0;
}

export async function rolloutPauseCommand(
  service: string,
  action: "pause" | "resume",
  opts: GlobalOptions,
): Promise<number> {
  const client = await adminClient(opts);
  const { deployment } = await client.post<{ deployment: Deployment }>(
    path(service, `rollout/${action}`),
    {},
  );
  emit(
    opts.json,
    deployment,
    () =>
      `${service} #${deployment.seq}: rollout ${action === "pause" ? "paused at its step (analysis keeps watching)" : "resumed"}`,
  );
  return 0;
}
