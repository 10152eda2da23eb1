/** How the CLI speaks: results on stdout (JSON with --json), errors on stderr, stable exit codes. */

import { createColors } from "picocolors";
import { type ErrorCode, isTealError } from "../domain/errors.ts";

/** 0 ok, 1 refused or failed, 2 bad usage or invalid input/config, 3 server unreachable. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  "USAGE",
  "CONFIG_INVALID",
  "CONFIG_NOT_FOUND",
  "INVALID_REQUEST",
]);

/**
 * Colors only on a terminal (and never with NO_COLOR). picocolors alone also colors whenever CI is
 * set, which would put escape codes into piped output.
 */
export const color = createColors(process.stdout.isTTY === true && !("NO_COLOR" in process.env));
const errColor = createColors(process.stderr.isTTY === true && !("NO_COLOR" in process.env));

export function emit(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** A warning on stderr: the command still succeeds. */
export function warn(message: string): void {
  process.stderr.write(`${errColor.yellow("warning")}: ${message}\n`);
}

/** Prints an error the way a user can act on it and returns the exit code. */
export function report(err: unknown, json: boolean | undefined): number {
  const code: ErrorCode = isTealError(err) ? err.code : "INTERNAL";
  const message = isTealError(err)
    ? err.message
    : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`${errColor.red("error")}: ${message} ${errColor.dim(`[${code}]`)}\n`);
  if (code === "SERVER_UNREACHABLE") return EXIT.unreachable;
  return USAGE_CODES.has(code) ? EXIT.usage : EXIT.failed;
}

export function colorName(name: string): string {
  return name === "blue" ? color.blue(name) : name === "green" ? color.green(name) : name;
}
