/**
 * The deployment runbook: make room on the idle color -> start the new version -> wait until
 * healthy -> smoke checks -> switch -> drain the old color -> keep it warm. Until the switch,
 * live traffic is never touched, and any failure stops the new instances and records why.
 */

import type { Deployment } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import type { RolloutPlan } from "../domain/strategy.ts";
import { InstanceExitedError, type LaunchPlan } from "./color-group.ts";
import { DeployFailure } from "./deploy-failure.ts";
import type { FleetWait } from "./fleet-instances.ts";
import {
  type DeployContext,
  drainPrevious,
  finish,
  keepWarm,
  phase,
  stopColor,
  succeed,
} from "./lifecycle.ts";
import { type RolloutDeps, runRollout } from "./rollout.ts";
import { RollbackRequest, type RolloutControl } from "./rollout-control.ts";
import type { ServiceUnit } from "./service-unit.ts";
import { runSmokeChecks } from "./smoke-checks.ts";

const LOG_LINES_ON_FAILURE = 20;

/** The full runbook, for a deploy and for a rollback whose previous color is gone. */
export async function runDeployment(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  signal: AbortSignal,
  rollout: { readonly deps: RolloutDeps; readonly plan: RolloutPlan; readonly control: RolloutControl },
): Promise<void> {
  const { seq } = d;
  const plan = unit.plan({ version: d.version, seq, command: d.command, env: d.env, image: d.image });
  // Before anything is touched: a deployment that cannot get its image leaves both colors alone.
  if (!(await prepare(ctx, unit, d, plan, signal))) return;
  try {
    await makeRoom(ctx, unit, d);
    signal.throwIfAborted();
    // The new version's schema exists before it starts; a failure from here rolls it back.
    await ctx.migrations?.expand(ctx, unit, d);
    signal.throwIfAborted();
    await startInstances(ctx, unit, d, plan);
    await phase(
      ctx,
      unit.name,
      seq,
      "health",
      `waiting up to ${unit.config.deployment.timeoutMs} ms for ${plan.instances} instance(s) on ${d.color} to become healthy`,
    );
    await untilHealthy(ctx, unit, d, signal);
    await smoke(ctx, unit, d, plan, signal);
    signal.throwIfAborted();
    if (d.color === d.from.color) {
      await unit.colors[d.color].serve();
      await finish(ctx, unit.name, seq, "succeeded", null);
      return;
    }
    // Running, not yet trusted: an instance that exits during the rollout rolls it back.
    await unit.colors[d.color].hold();
    // From here on, the rollout rolls back by itself once traffic has moved; what it throws
    // happened before the new color got any request.
    const shutdown = () =>
      rollout.control.abort(new RollbackRequest("the teal server is shutting down", "shutdown", "teal"));
    signal.addEventListener("abort", shutdown, { once: true });
    try {
      await runRollout(ctx, rollout.deps, unit, d, rollout.plan, rollout.control);
    } finally {
      signal.removeEventListener("abort", shutdown);
    }
  } catch (err) {
    await failBeforeSwitch(ctx, unit, d, err);
  }
}

/** Rollback while the previous color still runs: a switch, no new instances. */
export async function switchBack(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void> {
  try {
    await unit.colors[d.color].serve();
    const change = await ctx.controller.command(
      unit.name,
      { kind: "switch", to: d.color },
      { actor: d.actor, deployment: d.seq },
    );
    // Only now: if the switch was refused, the color stays warm and is still scaled down on time.
    unit.cancelScaleDown(d.color);
    await unit.setSlot(d.color, { warmUntil: null });
    await ctx.journal.append(
      unit.name,
      d.seq,
      "switch",
      `traffic switched back to ${d.color} ${d.version} (generation ${change.generation})`,
      { actor: d.actor },
    );
    await drainAndFinish(ctx, unit, d);
  } catch (err) {
    await finish(ctx, unit.name, d.seq, "failed", (err as Error).message);
  }
}

/** Fetches what the launch needs (a docker image); on failure ends the deployment untouched. */
async function prepare(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  plan: LaunchPlan,
  signal: AbortSignal,
): Promise<boolean> {
  if (!unit.runtime) return true;
  // Progress lines are recorded in order, without holding up the pull.
  let recorded: Promise<unknown> = Promise.resolve();
  const progress = (message: string) => {
    recorded = recorded.then(() => ctx.journal.append(unit.name, d.seq, "pull", message)).catch(() => {});
  };
  try {
    await unit.runtime.prepare(
      { service: unit.name, version: d.version, image: plan.image },
      progress,
      signal,
    );
    await recorded;
    return true;
  } catch (err) {
    await recorded;
    const reason = err instanceof TealError ? err.message : `unexpected error: ${(err as Error)?.message}`;
    if (!(err instanceof TealError))
      ctx.log.error({ err, service: unit.name, seq: d.seq }, "deployment failed");
    await ctx.journal.append(
      unit.name,
      d.seq,
      "failure",
      `${reason}; nothing was changed: live traffic stays on ${d.from.color} ${d.from.version ?? ""}`.trim(),
    );
    await finish(ctx, unit.name, d.seq, "failed", reason);
    return false;
  }
}

export async function makeRoom(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void> {
  const slot = unit.slot(d.color);
  unit.cancelScaleDown(d.color);
  if (unit.groups[d.color].size === 0 && slot.state === "stopped") return;
  await ctx.journal.append(
    unit.name,
    d.seq,
    "scale_down",
    `stopping ${d.color} ${slot.version ?? ""} to make room (its rollback window closes)`.replace("  ", " "),
  );
  await stopColor(ctx, unit, d.color);
}

export async function startInstances(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  plan: LaunchPlan,
): Promise<void> {
  const group = unit.groups[d.color];
  await unit.colors[d.color].start({
    version: d.version,
    deploymentSeq: d.seq,
    command: d.command,
    env: d.env,
    image: plan.image,
  });
  try {
    await group.launch(plan);
  } catch (err) {
    // A container that exited at once leaves no instance behind: its output comes with the error.
    const logs = err instanceof TealError ? err.details?.logs : undefined;
    throw new DeployFailure((err as Error).message, logs ? { logs } : undefined);
  }
  await unit.setSlot(d.color, { instances: group.records() });
  await ctx.controller.refresh();
  const started = group
    .records()
    .map((r) =>
      r.containerId
        ? `${r.id} (container ${r.containerId.slice(0, 12)}, port ${r.port})`
        : `${r.id} (pid ${r.pid}, port ${r.port})`,
    );
  await ctx.journal.append(unit.name, d.seq, "instance", `started ${started.join(", ")}`, {
    data: { instances: group.records() },
  });
}

export async function untilHealthy(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  signal: AbortSignal,
): Promise<void> {
  const group = unit.groups[d.color];
  const timeoutMs = unit.config.deployment.timeoutMs;
  const ctl = new AbortController();
  signal.throwIfAborted();
  const onAbort = () => ctl.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const timedOut = new Error("timeout");
  const timer = ctx.clock.setTimeout(() => ctl.abort(timedOut), timeoutMs);
  // On a fleet the other nodes bring the color up at the same time (their tasks follow the slot).
  const local = group.untilHealthy(ctl.signal).catch((err) => {
    throw err instanceof InstanceExitedError ? new DeployFailure(err.message) : err;
  });
  const fleet = ctx.fleet?.untilHealthy(unit.name, d.color, d.seq, ctl.signal).catch((err) => {
    throw ctl.signal.aborted ? err : new DeployFailure((err as Error).message);
  });
  let wait: FleetWait | undefined;
  try {
    [, wait] = await Promise.all([local, fleet]);
  } catch (err) {
    if (ctl.signal.reason !== timedOut) throw err;
    const r = group.readiness();
    // With a quorum, the nodes still not healthy at the deadline are left out if enough are.
    wait = r.ok ? ctx.fleet?.atDeadline(unit.name, d.color, d.seq, timeoutMs) : undefined;
    if (wait === undefined) {
      const waiting = [...(r.ok ? [] : [r.reason]), ...(ctx.fleet?.pending(unit.name, d.color, d.seq) ?? [])];
      throw new DeployFailure(
        `${d.color} did not become healthy within ${timeoutMs} ms: ${waiting.length === 0 ? "timed out" : waiting.join("; ")}`,
      );
    }
  } finally {
    // The one that did not fail stops waiting.
    ctl.abort(new Error("done"));
    timer.cancel();
    signal.removeEventListener("abort", onAbort);
    await Promise.allSettled([local, fleet]);
  }
  const versions = group.view().map((m) => `${m.id} ${m.health?.lastProbe?.version ?? ""}`.trim());
  const others = wait?.healthy.length ? `; and on node(s) ${wait.healthy.join(", ")}` : "";
  await ctx.journal.append(
    unit.name,
    d.seq,
    "health",
    `all instances healthy: ${versions.join(", ")}${others}`,
  );
  if (ctx.fleet === undefined || wait === undefined) return;
  for (const { reason } of wait.left)
    await ctx.journal.append(unit.name, d.seq, "health", `going on without it (fleet.quorum): ${reason}`);
  const serving = d.from.color === d.color ? "nothing" : d.from.color;
  for (const { node, reason } of wait.failed) {
    await ctx.journal.append(
      unit.name,
      d.seq,
      "health",
      `node ${node} drained out of the routing of ${unit.name} (fleet.quorum): its proxy keeps serving ${serving} instead of ${d.color}; ${reason}`,
      { data: { drained: node } },
    );
  }
  await ctx.fleet.settle(unit.name, d.color, d.from.color, wait, timeoutMs, signal);
}

export async function smoke(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  plan: LaunchPlan,
  signal: AbortSignal,
): Promise<void> {
  const checks = unit.config.deployment.smoke;
  if (checks.length === 0) return;
  await phase(ctx, unit.name, d.seq, "smoke", `running ${checks.length} smoke check(s) against ${d.color}`);
  const report = await runSmokeChecks(
    checks,
    {
      service: unit.name,
      color: d.color,
      version: d.version,
      urls: unit.groups[d.color].endpoints(),
      cwd: plan.cwd,
    },
    signal,
  );
  for (const r of report.results) {
    await ctx.journal.append(
      unit.name,
      d.seq,
      "smoke",
      `${r.ok ? "passed" : "FAILED"}: ${r.name}: ${r.detail}`,
      {
        data: { ...r },
      },
    );
  }
  const failed = report.results.find((r) => !r.ok);
  if (failed)
    throw new DeployFailure(`smoke check "${failed.name}" failed: ${failed.detail}`, {
      output: failed.output,
    });
}

export async function drainAndFinish(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void> {
  await drainPrevious(ctx, unit, d);
  await keepWarm(ctx, unit, d.from.color, d.seq);
  await succeed(ctx, d);
}

export async function failBeforeSwitch(
  ctx: DeployContext,
  unit: ServiceUnit,
  d: Deployment,
  err: unknown,
): Promise<void> {
  const reason =
    err instanceof DeployFailure || err instanceof TealError
      ? err.message
      : `unexpected error: ${(err as Error)?.message}`;
  if (!(err instanceof DeployFailure))
    ctx.log.error({ err, service: unit.name, seq: d.seq }, "deployment failed");
  const logs = await unit.groups[d.color].lastLogLines(LOG_LINES_ON_FAILURE).catch(() => []);
  try {
    // The first version of a service is deployed onto the live color: stop it there too.
    await stopColor(ctx, unit, d.color, { evenWithTraffic: d.color === d.from.color });
    // A version that never went live is not what runs there, nor what a rollback returns to.
    if (unit.slot(d.color).deploymentSeq === d.seq) {
      await unit.setSlot(d.color, {
        version: null,
        deploymentSeq: null,
        command: null,
        env: {},
        image: null,
      });
    }
  } catch (e) {
    ctx.log.error({ err: e, service: unit.name }, "stopping the failed instances failed");
  }
  await ctx.journal.append(
    unit.name,
    d.seq,
    "failure",
    `${reason}; live traffic stayed on ${d.from.color} ${d.from.version ?? ""}`.trim(),
    {
      data: { logs, ...(err instanceof DeployFailure ? err.data : {}) },
    },
  );
  await finish(ctx, unit.name, d.seq, "failed", reason);
}
