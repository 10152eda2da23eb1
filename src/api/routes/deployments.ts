/**
 * Deployments over HTTP: start one, roll back, read the history, and follow one live as
 * Server-Sent Events (every event so far, then each new one, then `end` with the record).
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { commandSchema, envSchema } from "../../config/schema.ts";
import type { Deployer } from "../../deploy/deployer.ts";
import type { FeedItem } from "../../deploy/deployment-log.ts";
import { type Deployment, isFinished } from "../../domain/deployment.ts";
import { TealError } from "../../domain/errors.ts";
import { readBody } from "../body.ts";
import { actorOf } from "./routing.ts";

export const versionSchema = z
  .string({ message: "is required: the version label to deploy, e.g. v2, 1.4.0 or a git sha" })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._+:@/-]{0,127}$/,
    "must be a version label like v2, 1.4.0 or a git sha (letters, digits and . _ + : @ / -, at most 128)",
  );

const deployBody = z.strictObject({
  version: versionSchema,
  command: commandSchema.optional(),
  env: envSchema.optional(),
});

export function deploymentRoutes(deployer: Deployer): Hono {
  const app = new Hono();
  const repo = deployer.journal.repository;

  app.post("/:name/deployments", async (c) => {
    const body = await readBody(c, deployBody);
    const d = await deployer.deploy(c.req.param("name"), body, actorOf(c.req.header("user-agent")));
    return c.json({ deployment: d }, 202);
  });
  app.post("/:name/rollback", async (c) => {
    await readBody(c, z.strictObject({}));
    const d = await deployer.rollback(c.req.param("name"), actorOf(c.req.header("user-agent")));
    return c.json({ deployment: d }, 202);
  });
  app.get("/:name/deployments", async (c) => {
    const name = c.req.param("name");
    deployer.unit(name);
    const limit = Number(c.req.query("limit") ?? 50);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new TealError("INVALID_REQUEST", "limit: must be a whole number >= 1");
    }
    const all = (await repo.list(name)).map((t) => t.value).reverse();
    return c.json({ service: name, deployments: all.slice(0, limit) });
  });
  app.get("/:name/deployments/:seq", async (c) =>
    c.json(await find(c.req.param("name"), c.req.param("seq"))),
  );
  app.get("/:name/deployments/:seq/events", async (c) => {
    const first = await find(c.req.param("name"), c.req.param("seq"));
    return streamSSE(c, async (stream) => {
      let sent = 0;
      let done = false;
      let wake: () => void = () => {};
      let latest: Deployment = first;
      const unsubscribe = deployer.journal.follow(first.service, first.seq, (item: FeedItem) => {
        latest = item.deployment;
        wake();
      });
      stream.onAbort(() => {
        done = true;
        wake();
      });
      try {
        while (!done) {
          const events = latest.events.slice(sent);
          for (const e of events)
            await stream.writeSSE({ event: "event", data: JSON.stringify(e), id: String(++sent) });
          if (isFinished(latest)) {
            await stream.writeSSE({ event: "end", data: JSON.stringify(latest) });
            break;
          }
          if (latest.events.length > sent) continue; // arrived while we were writing
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        unsubscribe();
      }
    });
  });

  async function find(service: string, seqText: string): Promise<Deployment> {
    deployer.unit(service);
    const seq = Number(seqText.replace(/^#/, ""));
    const d = Number.isInteger(seq) && seq > 0 ? await repo.get(service, seq) : undefined;
    if (!d)
      throw new TealError(
        "NOT_FOUND",
        `no deployment #${seqText} of ${service}; see teal history ${service}`,
      );
    return d.value;
  }
  return app;
}
