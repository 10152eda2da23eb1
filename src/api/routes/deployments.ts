/**
 * Deployments over HTTP: start one, roll back, read the history, and follow one live as
 * Server-Sent Events (every event so far, then each new one, then `end` with the record).
 */

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { commandSchema, envSchema, imageSchema } from "../../config/schema.ts";
import type { Deployer } from "../../deploy/deployer.ts";
import type { FeedItem } from "../../deploy/deployment-log.ts";
import { type Deployment, type DeploymentEvent, isFinished } from "../../domain/deployment.ts";
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
  /** Optional with an image: its tag is then the version. */
  version: versionSchema.optional(),
  /** docker runtime: the image to deploy instead of the configured one. */
  image: imageSchema.optional(),
  strategy: z.string().min(1).optional(),
  command: commandSchema.optional(),
  env: envSchema.optional(),
});

export function deploymentRoutes(deployer: Deployer): Hono {
  const app = new Hono();
  const repo = deployer.journal.repository;

  app.post("/:name/deployments", async (c) => {
    const body = await readBody(c, deployBody);
    const d = await deployer.deploy(c.req.param("name"), body, actorOf(c.req.header("user-agent")));
    return c.json({ deployment: redact(d) }, 202);
  });
  app.post("/:name/rollback", async (c) => {
    await readBody(c, z.strictObject({}));
    const d = await deployer.rollback(c.req.param("name"), actorOf(c.req.header("user-agent")));
    return c.json({ deployment: redact(d) }, 202);
  });
  app.post("/:name/promote", async (c) => {
    const { full } = await readBody(c, z.strictObject({ full: z.boolean().default(false) }));
    const d = await deployer.promote(c.req.param("name"), full, actorOf(c.req.header("user-agent")));
    return c.json({ deployment: redact(d) });
  });
  app.post("/:name/abort", async (c) => {
    await readBody(c, z.strictObject({}));
    const d = await deployer.abort(c.req.param("name"), actorOf(c.req.header("user-agent")));
    return c.json({ deployment: redact(d) }, 202);
  });
  for (const action of ["pause", "resume"] as const) {
    app.post(`/:name/rollout/${action}`, async (c) => {
      await readBody(c, z.strictObject({}));
      const d = await deployer.pauseRollout(
        c.req.param("name"),
        action === "pause",
        actorOf(c.req.header("user-agent")),
      );
      return c.json({ deployment: redact(d) });
    });
  }
  app.get("/:name/deployments", async (c) => {
    const name = c.req.param("name");
    deployer.view(name); // an unknown service is SERVICE_NOT_FOUND
    const limit = Number(c.req.query("limit") ?? 50);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new TealError("INVALID_REQUEST", "limit: must be a whole number >= 1");
    }
    const all = (await repo.list(name)).map((t) => t.value).reverse();
    const viewer = c.get("viewer");
    return c.json({ service: name, deployments: all.slice(0, limit).map((d) => redact(d, viewer)) });
  });
  app.get("/:name/deployments/:seq", async (c) =>
    c.json(redact(await find(c.req.param("name"), c.req.param("seq")), c.get("viewer"))),
  );
  app.get("/:name/deployments/:seq/events", async (c) => {
    const service = c.req.param("name");
    const viewer = c.get("viewer");
    // Subscribe before reading, so that no write between the two is missed.
    let latest: Deployment | undefined;
    let wake: () => void = () => {};
    const unsubscribe = deployer.journal.follow(service, parseSeq(c.req.param("seq")), (item: FeedItem) => {
      latest = item.deployment;
      wake();
    });
    try {
      latest ??= await find(service, c.req.param("seq"));
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return streamSSE(c, async (stream) => {
      let sent = 0;
      let lastSent: DeploymentEvent | undefined;
      let done = false;
      stream.onAbort(() => {
        done = true;
        wake();
      });
      try {
        while (!done) {
          const current = latest!;
          for (const e of unsent(current, lastSent)) {
            const data = JSON.stringify(viewer ? withoutOutput(e) : e);
            await stream.writeSSE({ event: "event", data, id: String(++sent) });
            lastSent = e;
          }
          if (isFinished(current)) {
            await stream.writeSSE({ event: "end", data: JSON.stringify(redact(current, viewer)) });
            break;
          }
          if (latest !== current) continue; // changed while we were writing
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
    deployer.view(service); // an unknown service is SERVICE_NOT_FOUND
    const seq = parseSeq(seqText);
    const d = seq > 0 ? await repo.get(service, seq) : undefined;
    if (!d)
      throw new TealError(
        "NOT_FOUND",
        `no deployment #${seqText} of ${service}; see teal history ${service}`,
      );
    return d.value;
  }
  return app;
}

function parseSeq(text: string): number {
  const seq = Number(text.replace(/^#/, ""));
  return Number.isInteger(seq) ? seq : 0;
}

/** Events after the last one sent; by identity, since old events are trimmed past MAX_EVENTS. */
function unsent(d: Deployment, last: DeploymentEvent | undefined): readonly DeploymentEvent[] {
  if (last === undefined) return d.events;
  const i = d.events.findLastIndex((e) => e.at === last.at && e.message === last.message);
  return d.events.slice(i + 1);
}

/**
 * Values given with --env can be secrets: the API shows only their names. For the read-only view
 * token, the output of instances, hooks and smoke checks (which can print secrets) goes too.
 */
export function redact(d: Deployment, viewer = false): Deployment {
  const env = Object.fromEntries(Object.keys(d.env).map((k) => [k, "(hidden)"]));
  return { ...d, env, ...(viewer ? { events: d.events.map(withoutOutput) } : {}) };
}

const OUTPUT_KEYS = ["logs", "output"];
const HIDDEN_OUTPUT = "(hidden: output needs the admin token)";

function withoutOutput(e: DeploymentEvent): DeploymentEvent {
  const data = e.data as Record<string, unknown> | undefined;
  if (!data || !OUTPUT_KEYS.some((k) => k in data)) return e;
  const kept = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, OUTPUT_KEYS.includes(k) ? HIDDEN_OUTPUT : v]),
  );
  return { ...e, data: kept };
}
