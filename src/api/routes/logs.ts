/**
 * GET /v1/services/:name/logs: the captured output of a service's instances, the last lines of
 * each, and with follow=true everything written after that until the client goes away.
 */

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { TealError } from "../../domain/errors.ts";
import { followFile, readLastLines } from "../../runtime/log-files.ts";

const FILE = /^(blue|green)-(\d+)\.log$/;
/** Text waiting for a slow follower beyond this is skipped (and the gap is said). */
const MAX_BACKLOG_BYTES = 1024 * 1024;

/** `requireService` throws SERVICE_NOT_FOUND for a name the config does not know. */
export function logRoutes(requireService: (service: string) => void, logDir: string): Hono {
  const app = new Hono();
  app.get("/:name/logs", async (c) => {
    const name = c.req.param("name");
    requireService(name);
    const color = c.req.query("color");
    if (color !== undefined && color !== "blue" && color !== "green") {
      throw new TealError("INVALID_REQUEST", `color: must be "blue" or "green", not "${color}"`);
    }
    const lines = Number(c.req.query("lines") ?? 100);
    if (!Number.isInteger(lines) || lines < 0 || lines > 100_000) {
      throw new TealError("INVALID_REQUEST", "lines: must be a whole number from 0 to 100000");
    }
    const follow = c.req.query("follow") === "true" || c.req.query("follow") === "1";
    const files = await logFiles(join(logDir, name), color);
    const label = (f: { color: string; index: number }) =>
      files.length > 1 ? `[${f.color}-${f.index}] ` : "";
    c.header("content-type", "text/plain; charset=utf-8");
    c.header("x-content-type-options", "nosniff");
    return stream(c, async (s) => {
      for (const f of files) {
        for (const line of await readLastLines(f.path, lines)) await s.write(`${label(f)}${line}\n`);
      }
      if (!follow) return;
      const abort = new AbortController();
      s.onAbort(() => abort.abort());
      // Writes go out one after another; a follower too slow for the app loses text, not teal memory.
      let pending = Promise.resolve();
      let backlog = 0;
      let skipped = 0;
      const send = (text: string) => {
        if (backlog > MAX_BACKLOG_BYTES) {
          skipped += Buffer.byteLength(text);
          return;
        }
        const out =
          skipped > 0 ? `[teal: ${skipped} bytes skipped: this follower was too slow]\n${text}` : text;
        skipped = 0;
        backlog += out.length;
        pending = pending
          .then(() => s.write(out))
          .then(
            () => {
              backlog -= out.length;
            },
            () => abort.abort(),
          );
      };
      await Promise.all(
        files.map((f) =>
          followFile(
            f.path,
            (text) => {
              const prefix = label(f);
              send(prefix ? text.replace(/^(?=.)/gm, prefix) : text);
            },
            abort.signal,
          ),
        ),
      );
    });
  });
  return app;
}

async function logFiles(dir: string, color: string | undefined) {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((n) => {
      const m = FILE.exec(n);
      return m && (color === undefined || m[1] === color)
        ? [{ color: m[1]!, index: Number(m[2]), path: join(dir, n) }]
        : [];
    })
    .sort((a, b) => a.color.localeCompare(b.color) || a.index - b.index);
}
