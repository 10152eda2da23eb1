/**
 * The deployment's schema migration (issue 17): lint and plan before a deploy is accepted, expand
 * before the new color starts, and afterwards "settle" the migration in flight towards whatever
 * the live color runs on: contract once the old color is retired (it stopped, so no rollback can
 * need its columns), roll the expand back once the version that needed it is no longer live (a
 * failed or rolled-back deployment, or one a restart of teal settled).
 *
 * Each color gets its schema version through its environment: `TEAL_DB_SCHEMA` (or the service's
 * `database.schemaEnv`) and `PGOPTIONS=-c search_path=<schema>,public`, which libpq reads.
 */

import { otherColor } from "../domain/color.ts";
import type { Deployment, DeploymentMigration } from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import { DeployFailure } from "./deploy-failure.ts";
import type { DeployContext, MigrationSteps } from "./lifecycle.ts";
import type { SchemaMigrations } from "./schema-migrations.ts";
import type { ServiceUnit } from "./service-unit.ts";
import type { ServiceUnits } from "./service-units.ts";

/** The environment a version running on `schema` gets. */
export function schemaEnv(variable: string, schema: string): Record<string, string> {
  return { [variable]: schema, PGOPTIONS: `-c search_path=${schema},public` };
}

export class DeploymentMigrations implements MigrationSteps {
  readonly #ports: ReadonlyMap<string, SchemaMigrations>;
  readonly #units: ServiceUnits;
  /** One migration call at a time per service: the engine holds a database-wide lock anyway. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(ports: ReadonlyMap<string, SchemaMigrations>, units: ServiceUnits) {
    this.#ports = ports;
    this.#units = units;
  }

  /**
   * Before a deploy is accepted: settles what an earlier deployment left, lints the migration
   * this deploy would expand (refused with UNSUPPORTED, naming each operation) and returns the
   * environment of the new color.
   */
  async prepare(ctx: DeployContext, unit: ServiceUnit): Promise<Record<string, string>> {
    const port = this.#ports.get(unit.name);
    if (!port) return {};
    await this.#serial(unit.name, () => this.#settle(ctx, unit, port));
    const plan = await this.#serial(unit.name, () => port.plan());
    if (plan.findings.length > 0) {
      const lines = plan.findings.map((f) => `${f.file}: ${f.path}: ${f.rule}: ${f.message} (fix: ${f.fix})`);
      throw new TealError(
        "UNSUPPORTED",
        `refused before anything started: migration ${plan.pending?.name} would break the running version or block its writes:\n${lines.join("\n")}`,
        { details: { migration: plan.pending?.name, findings: plan.findings } },
      );
    }
    return plan.schema ? schemaEnv(this.#variable(unit), plan.schema) : {};
  }

  /** The runbook's step before the new color starts: expand of the pending migration. */
  async expand(ctx: DeployContext, unit: ServiceUnit, d: Deployment): Promise<void> {
    const port = this.#ports.get(unit.name);
    const planned = d.env[this.#variable(unit)];
    if (!port || planned === undefined) return;
    // makeRoom has just stopped the idle color: a migration the live version runs on is contracted now.
    await this.#serial(unit.name, () => this.#settle(ctx, unit, port, d.seq));
    const plan = await this.#serial(unit.name, () => port.plan());
    if (!plan.pending) return;
    if (plan.pending.schema !== planned) {
      throw new DeployFailure(
        `the migration to expand is now ${plan.pending.name}, not the one this deployment was planned with (${planned}): deploy again`,
      );
    }
    const { name, schema } = plan.pending;
    await this.#record(
      ctx,
      d.service,
      d.seq,
      { name, schema, phase: "expanding" },
      `expanding migration ${name}: the new version's schema will be ${schema}`,
    );
    let recorded: Promise<unknown> = Promise.resolve();
    const progress = (line: string) => {
      recorded = recorded.then(() => ctx.journal.append(d.service, d.seq, "migration", line)).catch(() => {});
    };
    const done = await this.#serial(unit.name, () => port.expand(progress));
    await recorded;
    if (done?.schema !== schema) throw new DeployFailure(`migration ${name} was not expanded`);
    await this.#record(
      ctx,
      d.service,
      d.seq,
      { name, schema, phase: "expanded" },
      `migration ${name} expanded: ${d.color} runs on schema ${schema}, ${d.from.color} keeps its own`,
    );
  }

  /** After a deployment ends or a color retires: contract or roll back the migration in flight. */
  async settle(ctx: DeployContext, service: string, ending?: number): Promise<void> {
    const port = this.#ports.get(service);
    if (!port) return;
    const unit = this.#units.get(service);
    // A deployment under way owns the migration until it ends.
    const running = unit.running;
    if (running === "claiming" || (running !== undefined && running.seq !== ending)) return;
    try {
      await this.#serial(service, () => this.#settle(ctx, unit, port, ending));
    } catch (err) {
      ctx.log.error({ err, service }, "the schema migration could not be settled");
    }
  }

  async #settle(ctx: DeployContext, unit: ServiceUnit, port: SchemaMigrations, _seq?: number): Promise<void> {
    const inFlight = await port.inFlight();
    if (!inFlight) return;
    const variable = this.#variable(unit);
    const live = ctx.controller.routing(unit.name).live;
    const idle = otherColor(live);
    const liveSchema = unit.slot(live).env[variable];
    const owner = await this.#owner(ctx, unit.name, inFlight.name);
    if (inFlight.phase === "expanded" && liveSchema === inFlight.schema) {
      const idleRuns = unit.groups[idle].size > 0 && unit.slot(idle).env[variable] !== inFlight.schema;
      if (idleRuns) return; // the old version still runs (kept warm for an instant rollback)
      const m = { name: inFlight.name, schema: inFlight.schema };
      if (owner)
        await this.#record(
          ctx,
          unit.name,
          owner,
          { ...m, phase: "contracting" },
          `contracting migration ${m.name}: the old version is retired`,
        );
      await port.complete();
      if (owner)
        await this.#record(
          ctx,
          unit.name,
          owner,
          { ...m, phase: "done" },
          `migration ${m.name} contracted: only schema ${m.schema} remains`,
        );
      return;
    }
    const m = { name: inFlight.name, schema: inFlight.schema };
    await port.rollback();
    if (owner) {
      await this.#record(
        ctx,
        unit.name,
        owner,
        { ...m, phase: "rolled_back" },
        `migration ${m.name} rolled back (${inFlight.phase === "expanded" ? "expand undone" : `was ${inFlight.phase.replace("_", " ")}`}): the live version does not use schema ${m.schema}`,
      );
    }
  }

  /** The deployment that expanded `migration`: the latest that recorded it. */
  async #owner(ctx: DeployContext, service: string, migration: string): Promise<number | undefined> {
    const all = await ctx.journal.repository.list(service);
    return all
      .map((t) => t.value)
      .filter((d) => d.migration?.name === migration)
      .sort((a, b) => b.seq - a.seq)[0]?.seq;
  }

  #record(ctx: DeployContext, service: string, seq: number, migration: DeploymentMigration, message: string) {
    return ctx.journal.append(service, seq, "migration", message, {
      data: { ...migration },
      change: (d) => ({ ...d, migration }),
    });
  }

  #variable(unit: ServiceUnit): string {
    return unit.config.database?.schemaEnv ?? "TEAL_DB_SCHEMA";
  }

  #serial<T>(service: string, run: () => Promise<T>): Promise<T> {
    const next = (this.#queues.get(service) ?? Promise.resolve()).then(run, run);
    this.#queues.set(
      service,
      next.catch(() => {}),
    );
    return next;
  }
}
