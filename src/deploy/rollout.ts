/**
 * Moving traffic to a proven version: the strategy's steps (weights, pauses, analyses), then full
 * promotion, the drain, and the monitoring window. Analysis watches in the background from the
 * first request the new color gets; a failing verdict, a failing hook, a crash or `teal abort`
 * at any moment sends all traffic back to the stable color at once.
 */

import { type AnalysisOutcome, AnalysisRun, type CheckStatus } from "../analysis/analysis-run.ts";
import type { MetricSource } from "../analysis/metric-source.ts";
import type { ProxySource } from "../analysis/proxy-source.ts";
import type { CheckConfig, HookConfig, NotificationEvent } from "../config/schema.ts";
import type { CheckView, Deployment, RolloutStatus } from "../domain/deployment.ts";
import type { RolloutPlan, RolloutStep } from "../domain/strategy.ts";
import { DeployFailure } from "./deploy-failure.ts";
import { runHooks } from "./hooks.ts";
import { type DeployContext, drainPrevious, finish, keepWarm, phase, succeed } from "./lifecycle.ts";
import { RollbackRequest, type RolloutControl } from "./rollout-control.ts";
import type { ServiceUnit } from "./service-unit.ts";

export interface RolloutDeps {
  readonly metrics: (check: CheckConfig) => MetricSource;
  readonly proxy: ProxySource;
  readonly notify: (
    event: NotificationEvent,
    d: Deployment,
    message: string,
    data?: Record<string, unknown>,
  ) => void;
}

export async function runRollout(
  ctx: DeployContext,
  deps: RolloutDeps,
  unit: ServiceUnit,
  d: Deployment,
  plan: RolloutPlan,
  control: RolloutControl,
): Promise<void> {
  const r = new Rollout(ctx, deps, unit, d, plan, control);
  await r.run();
}

class Rollout {
  #status: RolloutStatus;
  #background: AnalysisRun | undefined;
  #trafficStarted = false;

  constructor(
    readonly ctx: DeployContext,
    readonly deps: RolloutDeps,
    readonly unit: ServiceUnit,
    readonly d: Deployment,
    readonly plan: RolloutPlan,
    readonly control: RolloutControl,
  ) {
    this.#status = {
      strategy: plan.name,
      step: 0,
      steps: plan.steps.length,
      stepText: "",
      weight: 0,
      paused: false,
      waiting: null,
      checks: [],
    };
  }

  async run(): Promise<void> {
    const { d, plan } = this;
    const monitor = plan.monitorMs > 0 ? `, then ${plan.monitorMs} ms of monitoring` : "";
    await phase(
      this.ctx,
      d.service,
      d.seq,
      "rollout",
      `${plan.name}: ${plan.steps.length} step(s), then full promotion${monitor}`,
    );
    await this.#hooks("beforeTraffic", this.unit.config.hooks.beforeTraffic);
    await this.#watch();
    try {
      for (const [i, step] of plan.steps.entries()) {
        this.control.check();
        if (this.control.full) break;
        await this.#update(
          { step: i + 1, stepText: describe(step) },
          "step",
          `step ${i + 1}/${plan.steps.length}: ${describe(step)}`,
        );
        this.deps.notify("step.reached", d, `step ${i + 1}/${plan.steps.length}: ${describe(step)}`);
        await this.#runStep(step);
      }
      await this.#promote();
      this.#background?.stop();
      await keepWarm(this.ctx, this.unit, d.from.color, d.seq);
      await succeed(this.ctx, d);
    } catch (err) {
      this.#background?.stop();
      // Nothing reached the new color yet: this is a failed deployment, not a rollback.
      if (!this.#trafficStarted) throw err instanceof RollbackRequest ? new DeployFailure(err.message) : err;
      await this.#revertTraffic(
        err instanceof RollbackRequest ? err : new RollbackRequest((err as Error).message, "error", "teal"),
      );
    } finally {
      this.deps.proxy.forget(d.service);
    }
  }

  async #runStep(step: RolloutStep): Promise<void> {
    switch (step.kind) {
      case "setWeight":
        return this.#setWeight(step.weight);
      case "pause": {
        const waiting =
          step.durationMs === undefined ? "teal promote" : `${step.durationMs} ms (or teal promote)`;
        await this.#update({ waiting });
        await this.control.wait(this.ctx.clock, step.durationMs);
        await this.#update({ waiting: null });
        return;
      }
      case "analysis":
        return this.#analysis(step.durationMs, step.checks);
    }
  }

  async #setWeight(weight: number): Promise<void> {
    const { d } = this;
    const greenPercent = d.color === "green" ? weight : 100 - weight;
    const change = await this.ctx.controller.command(
      d.service,
      { kind: "split", greenPercent },
      { actor: d.actor, deployment: d.seq },
    );
    await this.#update(
      { weight },
      "switch",
      `${weight}% of traffic on ${d.color} ${d.version} (generation ${change.generation})`,
    );
    if (weight > 0 && !this.#trafficStarted) await this.#afterFirstRequest();
  }

  async #analysis(durationMs: number | undefined, names: readonly string[] | undefined): Promise<void> {
    const all = this.unit.config.analysis.checks;
    const checks = names ? all.filter((c) => names.includes(c.name)) : all;
    const run = this.#run(checks, { durationMs, background: false });
    const outcome = await Promise.race([run.outcome, this.control.untilAborted()]).finally(() => run.stop());
    if (outcome.result === "failed") throw this.#failure(outcome.check);
    if (outcome.result === "inconclusive") {
      const why = outcome.checks.map((c) => `${c.name}: ${c.last?.reason ?? "no measurement"}`).join("; ");
      await this.#update(
        { waiting: "teal promote or teal abort (analysis inconclusive)" },
        "analysis",
        `analysis inconclusive (${why}): the rollout waits for teal promote or teal abort`,
      );
      await this.control.wait(this.ctx.clock, undefined);
      await this.#update({ waiting: null });
    }
  }

  async #promote(): Promise<void> {
    const { d } = this;
    await phase(
      this.ctx,
      d.service,
      d.seq,
      "switching",
      `full promotion: all traffic to ${d.color} ${d.version}`,
    );
    // Marked before the switch: no relative verdict can rest on a moment where stable no longer served.
    this.deps.proxy.promoted(d.service);
    const change = await this.ctx.controller.command(
      d.service,
      { kind: "switch", to: d.color },
      { actor: d.actor, deployment: d.seq },
    );
    await this.unit.colors[d.color].serve();
    await this.#update(
      { weight: 100, step: this.plan.steps.length + 1, stepText: "promoted" },
      "switch",
      `traffic switched to ${d.color} ${d.version} (generation ${change.generation})`,
    );
    if (!this.#trafficStarted) await this.#afterFirstRequest();
    this.deps.notify("deployment.promoted", d, `${d.version} promoted to all traffic on ${d.color}`);
    await this.#hooks("onPromote", this.unit.config.hooks.onPromote, false);
    await drainPrevious(this.ctx, this.unit, d);
    if (this.plan.monitorMs > 0) {
      await phase(
        this.ctx,
        d.service,
        d.seq,
        "monitoring",
        `watching ${d.version} for ${this.plan.monitorMs} ms after promotion`,
      );
      await this.#update({ waiting: `monitoring for ${this.plan.monitorMs} ms` });
      await this.control.wait(this.ctx.clock, this.plan.monitorMs);
      await this.#update({ waiting: null });
    }
  }

  /**
   * The checks watch from before the first request reaches the new color (testers' pinned
   * requests included) to the end of monitoring; the proxy is sampled first, so windows start here.
   */
  async #watch(): Promise<void> {
    const { window, warmup, checks } = this.unit.config.analysis;
    if (checks.length === 0) return;
    if (checks.some((c) => c.metric !== undefined)) {
      await this.deps.proxy.watch(this.d.service, {
        color: this.d.color,
        windowMs: window,
        warmupMs: warmup,
      });
    }
    this.#background = this.#run(checks, { background: true });
    void this.#background.outcome.then((o: AnalysisOutcome) => {
      if (o.result === "failed") this.control.abort(this.#failure(o.check));
    });
  }

  async #afterFirstRequest(): Promise<void> {
    this.#trafficStarted = true;
    await this.#hooks("afterTraffic", this.unit.config.hooks.afterTraffic);
  }

  #run(checks: readonly CheckConfig[], options: { durationMs?: number; background: boolean }): AnalysisRun {
    const { d } = this;
    return new AnalysisRun({
      checks,
      context: {
        service: d.service,
        color: d.color,
        version: d.version,
        stableColor: d.from.color,
        windowMs: this.unit.config.analysis.window,
      },
      source: this.deps.metrics,
      clock: this.ctx.clock,
      ...options,
      onMeasurement: (s) => void this.#measured(s, options.background),
    }).start();
  }

  async #measured(s: CheckStatus, background: boolean): Promise<void> {
    const view = checkView(s);
    const before = this.#status.checks.find((c) => c.name === view.name);
    const checks = [...this.#status.checks.filter((c) => c.name !== view.name), view];
    // The background watch speaks when its verdict changes; every measurement updates the status.
    if (background && before?.last?.verdict === view.last?.verdict) {
      await this.#update({ checks }).catch((err) =>
        this.ctx.log.error({ err }, "could not record a measurement"),
      );
      return;
    }
    const verdict = s.last?.verdict ?? "?";
    const where = background ? "" : " (step analysis)";
    await this.#update(
      { checks },
      "analysis",
      `${s.name}${where}: ${verdict.toUpperCase()} ${s.last?.reason ?? ""}`.trim(),
      {
        check: view,
      },
    ).catch((err) => this.ctx.log.error({ err }, "could not record a measurement"));
  }

  #failure(s: CheckStatus): RollbackRequest {
    const at = s.last ? Date.parse(s.last.at) : undefined;
    return new RollbackRequest(
      `analysis "${s.name}" failed: ${s.last?.reason ?? "failed"}`,
      "analysis",
      "teal",
      { check: checkView(s) },
      at,
    );
  }

  async #hooks(
    point: "beforeTraffic" | "afterTraffic" | "onPromote" | "onRollback",
    hooks: readonly HookConfig[],
    enforce = true,
  ): Promise<void> {
    if (hooks.length === 0) return;
    const { d, unit } = this;
    const report = await runHooks(hooks, {
      point,
      service: d.service,
      version: d.version,
      color: d.color,
      stableColor: d.from.color,
      deploymentSeq: d.seq,
      urls: unit.groups[d.color].endpoints(),
      cwd: unit.plan({ version: d.version, seq: d.seq, command: d.command, env: d.env }).cwd,
    });
    for (const r of report.results) {
      await this.ctx.journal.append(
        d.service,
        d.seq,
        "hook",
        `${point} ${r.ok ? "passed" : "FAILED"}: ${r.name}: ${r.detail}`,
        { data: { ...r } },
      );
    }
    const failed = report.results.find((r) => !r.ok);
    if (!failed || !enforce) return;
    const message = `${point} hook "${failed.name}" failed: ${failed.detail}`;
    if (point === "beforeTraffic") throw new DeployFailure(message, { output: failed.output });
    throw new RollbackRequest(message, "hook", "teal", { hook: failed.name });
  }

  /**
   * The automatic rollback during a rollout: all traffic back on the stable color at once, the new
   * version kept (not restarted) until its scale-down. Not `teal rollback`, the operator's undo of
   * a finished deployment (Deployer.rollback), which deploys or switches back to the version before.
   */
  async #revertTraffic(req: RollbackRequest): Promise<void> {
    const { d, ctx } = this;
    const change = await ctx.controller.command(
      d.service,
      { kind: "switch", to: d.from.color },
      { actor: req.actor, deployment: d.seq, force: true },
    );
    const tookMs = req.detectedAtMs === undefined ? undefined : ctx.clock.now() - req.detectedAtMs;
    const took = tookMs === undefined ? "" : ` ${tookMs} ms after the failing measurement`;
    await this.#update(
      { weight: 0, waiting: null },
      "rollback",
      `${req.message}; all traffic back on ${d.from.color} ${d.from.version ?? ""}${took} (generation ${change.generation})`.replace(
        "  ",
        " ",
      ),
      {
        ...req.data,
        msToStable: tookMs ?? null,
        actor: req.actor,
        rollbackCause: req.rollbackCause,
      },
    );
    this.deps.notify("analysis.failed", d, req.message, req.data);
    await this.#hooks("onRollback", this.unit.config.hooks.onRollback, false);
    // The failed version must not restart in a loop while it waits to be stopped.
    await keepWarm(ctx, this.unit, d.color, d.seq);
    await this.unit.colors[d.color].hold();
    await finish(ctx, d.service, d.seq, "rolled_back", req.message, req.rollbackCause);
    this.deps.notify("deployment.rolled_back", d, `${d.version} rolled back: ${req.message}`, req.data);
  }

  async #update(
    patch: Partial<RolloutStatus>,
    type?: "step" | "switch" | "analysis" | "rollback",
    message?: string,
    data?: Record<string, unknown>,
  ): Promise<void> {
    this.#status = { ...this.#status, ...patch, paused: this.control.paused };
    const rollout = this.#status;
    if (type === undefined || message === undefined) {
      await this.ctx.journal.update(this.d.service, this.d.seq, (x) => ({ ...x, rollout }));
      return;
    }
    await this.ctx.journal.append(this.d.service, this.d.seq, type, message, {
      change: (x) => ({ ...x, rollout }),
      ...(data ? { data } : {}),
    });
  }
}

function describe(step: RolloutStep): string {
  switch (step.kind) {
    case "setWeight":
      return `setWeight ${step.weight}`;
    case "pause":
      return step.durationMs === undefined ? "pause until teal promote" : `pause ${step.durationMs} ms`;
    case "analysis":
      return `analysis${step.durationMs === undefined ? "" : ` for ${step.durationMs} ms`}${step.checks ? ` (${step.checks.join(", ")})` : ""}`;
  }
}

function checkView(s: CheckStatus): CheckView {
  return {
    name: s.name,
    metric: s.metric,
    thresholds: s.thresholds as Record<string, number>,
    ...(s.compare ? { compare: s.compare } : {}),
    ...(s.comparison ? { lastComparison: s.comparison } : {}),
    result: s.tally.result,
    passes: s.tally.passes,
    failures: s.tally.failures,
    inconclusives: s.tally.inconclusives,
    last: s.last && {
      at: s.last.at,
      verdict: s.last.verdict,
      reason: s.last.reason,
      value: s.last.measurement.value,
      stableValue: s.last.measurement.shared?.stable.value ?? null,
      sampleSize: s.last.measurement.sampleSize,
      ...(s.last.measurement.shared ? { sharedSlices: s.last.measurement.shared.slices } : {}),
      ...(s.last.comparison ? { comparison: s.last.comparison } : {}),
    },
  };
}
