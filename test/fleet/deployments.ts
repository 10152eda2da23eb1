/**
 * Deployments of service `web` through a fleet node's admin API, for the fleet tests: start one,
 * read it, wait for it to end. A wait that times out prints the deployment's events and each
 * node's last warnings, so that a failed run says what it waited for.
 */

import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { api, type Json, type TealProcess } from "../support/teal-process.ts";
import type { ServerFleet } from "./server-fleet.ts";

export const deploymentOf = async (teal: TealProcess, seq: number): Promise<Json | undefined> =>
  ((await api(teal, "GET", "/v1/services/web/deployments")).body.deployments as Json[]).find(
    (d) => d.seq === seq,
  );

/** POST a deployment; its sequence number. */
export async function startDeploy(teal: TealProcess, body: Json): Promise<number> {
  const started = await api(teal, "POST", "/v1/services/web/deployments", body);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return started.body.deployment.seq as number;
}

/** Deployment #seq once it has ended (its outcome is no longer "running"). */
export async function deploymentEnded(
  teal: TealProcess,
  seq: number,
  fleet?: ServerFleet,
  timeoutMs = 60_000,
): Promise<Json> {
  try {
    return await eventually(
      async () => {
        const d = await deploymentOf(teal, seq);
        return d?.outcome !== "running" && d;
      },
      `deployment #${seq} to end`,
      timeoutMs,
    );
  } catch (err) {
    console.log(JSON.stringify((await deploymentOf(teal, seq).catch(() => undefined))?.events, null, 1));
    for (const [node, server] of fleet?.servers ?? [])
      for (const line of server.logs.filter((l) => (l.level as number) >= 40).slice(-10))
        console.log(node, JSON.stringify(line));
    throw err;
  }
}

/** Starts a deployment and waits for it to end. */
export async function deploy(teal: TealProcess, body: Json, fleet?: ServerFleet): Promise<Json> {
  return deploymentEnded(teal, await startDeploy(teal, body), fleet);
}
