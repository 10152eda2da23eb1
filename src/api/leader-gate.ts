/**
 * On a fleet, only the leading server takes commands that change state (every POST under /v1:
 * deploy, switch, split, rollback, promote, abort, pause, resume, maintenance). Another server
 * refuses them with 409 NOT_LEADER naming the leader and its admin URL, rather than forwarding:
 * each server has its own admin token, so a forwarded call would need the leader's token, and
 * the caller can see and choose where a command goes. Reads answer on every node.
 */

import type { MiddlewareHandler } from "hono";
import { TealError } from "../domain/errors.ts";

export interface LeaderView {
  /** This server leads and has settled what the previous leader left: it takes commands. */
  readonly ready: boolean;
  /** The leading node (this one while it takes over), if one is known. */
  readonly node?: string;
  readonly admin?: string;
  /** This server won the election and is still settling the previous leader's deployments. */
  readonly takingOver?: boolean;
}

export function leaderGate(leader: () => LeaderView): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD" || method === "OPTIONS") return next();
    const view = leader();
    if (view.ready) return next();
    throw notLeader(view);
  };
}

export function notLeader(view: LeaderView): TealError {
  if (view.takingOver) {
    return new TealError(
      "NOT_LEADER",
      `node ${view.node} has just been elected leader and is settling the deployments the previous leader left; retry in a few seconds`,
      { details: { leader: view.node, admin: view.admin } },
    );
  }
  if (view.node === undefined || view.admin === undefined) {
    return new TealError(
      "NOT_LEADER",
      "no node leads the fleet right now (an election is under way, or etcd cannot be reached); retry in a few seconds",
    );
  }
  return new TealError(
    "NOT_LEADER",
    `this server is not the fleet's leader: node ${view.node} leads and takes commands that change state; send it to ${view.admin} (teal … --admin ${view.admin})`,
    { details: { leader: view.node, admin: view.admin } },
  );
}
