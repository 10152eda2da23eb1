/**
 * JSON-lines logs (pino), pretty when stdout is a terminal. Secrets are redacted by key. JSON lines
 * are written in batches (line-batch.ts); the proxy's access log skips pino's generic path for a
 * fixed-shape line into the same batches (accessLogTo).
 */

import { createRequire } from "node:module";
import { type Logger, pino } from "pino";
import type { AccessEntry } from "../proxy/exchange.ts";
import { escapedAccessLine, plainAccessLine } from "./access-line.ts";
import { LineBatch } from "./line-batch.ts";

export type { Logger };

export type LogFormat = "auto" | "json" | "pretty";

/** The batch and the `"name"` binding of each JSON logger createLogger made. */
const jsonOutputs = new WeakMap<Logger, { batch: LineBatch; bindings: string }>();

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
  const batch = new LineBatch(1);
  const log = pino(base, batch);
  jsonOutputs.set(log, { batch, bindings: options.name ? `,"name":${JSON.stringify(options.name)}` : "" });
  return log;
}

/**
 * The proxy's access log on `log`: what `log.info(entry, "request")` writes, for less. A pretty
 * logger (a terminal) or one createLogger did not make gets exactly that call.
 */
export function accessLogTo(log: Logger): (entry: AccessEntry) => void {
  const json = jsonOutputs.get(log);
  if (!json) return (entry) => log.info(entry, "request");
  const { batch, bindings } = json;
  const info = log.levels.values.info ?? 30;
  const asciiBindings = /^[\x20-\x7e]*$/.test(bindings);
  return (entry) => {
    if (log.levelVal > info) return;
    const now = Date.now();
    const plain = plainAccessLine(entry, bindings, now);
    if (plain !== undefined) batch.write(plain, asciiBindings);
    else batch.write(escapedAccessLine(entry, bindings, now));
  };
}
