/** One command for a deployment (a smoke check, a hook): its own process group, a timeout, an output tail. */

import { spawn } from "node:child_process";

export interface CommandRun {
  /** A shell command line (run by /bin/sh -c) or an argv list (run directly). */
  readonly command: string | readonly string[];
  readonly cwd: string;
  /** The whole environment; build it from inheritedEnv() so teal's secrets stay out. */
  readonly env: NodeJS.ProcessEnv;
  /** The process group is killed after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface CommandOutcome {
  readonly ok: boolean;
  /** One line for people: "exit code 3", "timed out after 300 ms", "aborted". */
  readonly detail: string;
  /** The last lines of combined stdout and stderr. */
  readonly output: string[];
}

const OUTPUT_LINES = 20;
/** A single output line is cut at this many characters. */
const MAX_LINE_CHARS = 2_000;

/** The command as people wrote it: the line itself, or the argv joined by spaces. */
export function commandText(command: string | readonly string[]): string {
  return typeof command === "string" ? command : command.join(" ");
}

/**
 * Runs the command to completion and never rejects: ok on exit code 0. On timeout or abort the
 * whole process group is killed (SIGKILL); leftovers in the group are killed when the main process
 * exits too.
 */
export function runCommand(run: CommandRun): Promise<CommandOutcome> {
  const [file, ...args] = typeof run.command === "string" ? ["/bin/sh", "-c", run.command] : run.command;
  const { signal } = run;
  const tail = new OutputTail(OUTPUT_LINES);
  return new Promise((resolve) => {
    // Its own process group, so a timeout kills the command and everything it started.
    const child = spawn(file!, args, {
      cwd: run.cwd,
      env: run.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let ending: Omit<CommandOutcome, "output"> | undefined;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (outcome: Omit<CommandOutcome, "output">) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve({ ...outcome, output: tail.lines() });
    };
    // On timeout or abort the pipes may be held by a process outside the group: stop reading them.
    const cutShort = (outcome: Omit<CommandOutcome, "output">) => {
      ending ??= outcome;
      killGroup();
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(
      () => cutShort({ ok: false, detail: `timed out after ${run.timeoutMs} ms` }),
      run.timeoutMs,
    );
    const onAbort = () => cutShort({ ok: false, detail: "aborted" });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => tail.write("stdout", chunk));
    child.stderr.on("data", (chunk: Buffer) => tail.write("stderr", chunk));
    child.on("error", (err: NodeJS.ErrnoException) => {
      ending ??= { ok: false, detail: `could not run ${file}: ${err.code ?? err.message}` };
    });
    // The command is over when its main process exits; leftovers in its group are killed too.
    child.on("exit", () => killGroup());
    child.on("close", (code, exitSignal) => {
      tail.flush();
      if (ending) return finish(ending);
      if (code === 0) return finish({ ok: true, detail: "exit code 0" });
      finish({ ok: false, detail: code !== null ? `exit code ${code}` : `killed by ${exitSignal}` });
    });
  });
}

/** The last lines of a child's combined stdout and stderr, without holding all of it. */
class OutputTail {
  readonly #max: number;
  readonly #lines: string[] = [];
  readonly #partial = { stdout: "", stderr: "" };

  constructor(max: number) {
    this.#max = max;
  }

  write(stream: "stdout" | "stderr", chunk: Buffer): void {
    const parts = (this.#partial[stream] + chunk.toString("utf8")).split("\n");
    this.#partial[stream] = parts.pop()!.slice(0, MAX_LINE_CHARS);
    for (const line of parts.slice(-this.#max)) this.#push(line);
  }

  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#partial[stream] !== "") this.#push(this.#partial[stream]);
      this.#partial[stream] = "";
    }
  }

  lines(): string[] {
    return [...this.#lines];
  }

  #push(line: string): void {
    this.#lines.push(line.replace(/\r$/, "").slice(0, MAX_LINE_CHARS));
    if (this.#lines.length > this.#max) this.#lines.shift();
  }
}
