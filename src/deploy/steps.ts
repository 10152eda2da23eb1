/**
 * The one runner for a deployment's ordered steps (smoke checks, lifecycle hooks): each step is an
 * HTTP call or a command, they run in order, and the run stops at the first failure. What an HTTP
 * step asks and where a command runs is the caller's; the order, timing, naming and the command
 * kind are here, so both lists behave alike.
 */

import { type CommandRun, commandText, runCommand } from "./run-command.ts";

export interface StepResult {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** One line for people: "exit code 3", "status 503", "timed out after 30000 ms". */
  readonly detail: string;
  /** Command steps: the last lines of combined stdout and stderr; a caller's HTTP step may add its own. */
  readonly output?: string[];
}

export interface StepReport {
  readonly ok: boolean;
  /** Only the steps that ran: the run stops at the first failure. */
  readonly results: StepResult[];
}

/** What one step came to, before the runner adds its name and duration. */
export type StepOutcome = Omit<StepResult, "name" | "durationMs">;

/** A step as the config writes it: a command, with an optional name and a timeout. */
export interface CommandStep {
  readonly name?: string | undefined;
  readonly timeoutMs: number;
  readonly command: string | readonly string[];
}

/** A step as the config writes it: an HTTP call the caller knows how to make. */
export interface HttpStep {
  readonly name?: string | undefined;
  readonly timeoutMs: number;
  readonly http: unknown;
}

/** How one caller's steps run. */
export interface StepKinds<H extends HttpStep> {
  /** Makes an HTTP step's call(s); never rejects except when the signal aborts it. */
  http(step: H, signal?: AbortSignal): Promise<StepOutcome>;
  /** The name an unnamed HTTP step is reported under. */
  httpName(step: H): string;
  /** Where command steps run and with what environment (build it from inheritedEnv()). */
  readonly command: Pick<CommandRun, "cwd" | "env">;
}

/**
 * Runs steps in order and stops at the first failure. Rejects only with the signal's reason when
 * aborted (after killing any running command).
 */
export async function runSteps<H extends HttpStep>(
  steps: readonly (H | CommandStep)[],
  kinds: StepKinds<H>,
  signal?: AbortSignal,
): Promise<StepReport> {
  const results: StepResult[] = [];
  for (const step of steps) {
    signal?.throwIfAborted();
    const startedMs = performance.now();
    const outcome =
      "http" in step ? await kinds.http(step, signal) : await runCommandStep(step, kinds, signal);
    signal?.throwIfAborted();
    const name = step.name ?? ("http" in step ? kinds.httpName(step) : commandText(step.command));
    results.push({ name, ...outcome, durationMs: Math.round(performance.now() - startedMs) });
    if (!outcome.ok) return { ok: false, results };
  }
  return { ok: true, results };
}

function runCommandStep<H extends HttpStep>(
  step: CommandStep,
  kinds: StepKinds<H>,
  signal?: AbortSignal,
): Promise<StepOutcome> {
  return runCommand({ ...kinds.command, command: step.command, timeoutMs: step.timeoutMs, signal });
}
