/** JSON-lines logs (pino), pretty when stdout is a terminal. Secrets are redacted by key. */

import { createRequire } from "node:module";
import { type Logger, pino } from "pino";

export type { Logger };

export type LogFormat = "auto" | "json" | "pretty";

export function createLogger(options: { format?: LogFormat; level?: string; name?: string } = {}): Logger {
  const format = options.format ?? (process.env.TEAL_LOG_FORMAT as LogFormat | undefined) ?? "auto";
  const level = options.level ?? process.env.TEAL_LOG_LEVEL ?? "info";
  const base = {
    level,
    base: options.name ? { name: options.name } : {},
    redact: {
      paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"],
      censor: "[redacted]",
    },
  };
  const usePretty = format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
  if (usePretty) {
    // Loaded only for a terminal: JSON-logging processes (workers, services) skip its weight.
    const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
    return pino(base, pretty({ colorize: true, sync: true, ignore: "pid,hostname" }));
  }
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 0 }));
}
