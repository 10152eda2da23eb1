/** POST /v1/services/:name/{switch,split,pause,resume,maintenance}: the traffic commands. */

import { Hono } from "hono";
import { z } from "zod";
import type { DataPlanePort } from "../../control/data-plane-port.ts";
import { DRAIN_REPORT_SLACK_MS } from "../../control/drain-wait.ts";
import type { RoutingController } from "../../control/routing-controller.ts";
import { type Color, otherColor } from "../../domain/color.ts";
import type { RoutingCommand } from "../../domain/routing.ts";
import { readBody } from "../body.ts";

const colorSchema = z.enum(["blue", "green"], { message: 'must be "blue" or "green"' });
const switchBody = z.strictObject({
  to: colorSchema.optional(),
  /** Answer only after the old color has drained (or its deadline passed). */
  waitForDrain: z.boolean().default(false),
  /** Switch even if the target color is not healthy. */
  force: z.boolean().default(false),
});
const splitBody = z.strictObject({
  greenPercent: z
    .number({ message: "must be a whole number from 0 to 100" })
    .int("must be a whole number from 0 to 100")
    .min(0, "must be at least 0")
    .max(100, "must be at most 100"),
  force: z.boolean().default(false),
});
const maintenanceBody = z.strictObject({ enabled: z.boolean({ message: "must be true or false" }) });

export function routingRoutes(controller: RoutingController, dataPlane: DataPlanePort): Hono {
  const app = new Hono();
  const run = async (service: string, command: RoutingCommand, actor: string, force = false) => {
    const change = await controller.command(service, command, { actor, force });
    const result = { service, routing: change.after, previous: change.before, generation: change.generation };
    // On a fleet the write happened even if a node lags: still 200, with the nodes and a warning.
    if (change.lagging === undefined) return result;
    const lagging = change.lagging;
    if (lagging.length === 0) return { ...result, lagging };
    const names = lagging.map((n) => n.node).join(", ");
    return {
      ...result,
      lagging,
      warning: `stored and in force here, but not yet served by ${names} (past the ack deadline); they catch up when they reach etcd again`,
    };
  };

  app.post("/:name/switch", async (c) => {
    const name = c.req.param("name");
    const body = await readBody(c, switchBody);
    const from: Color = controller.routing(name).live;
    const to = body.to ?? otherColor(from);
    const result = await run(name, { kind: "switch", to }, actorOf(c.req.header("user-agent")), body.force);
    const limit = controller.config.services[name]?.deployment.drainTimeoutMs ?? 0;
    const drain =
      body.waitForDrain && from !== to
        ? await dataPlane.drained(name, from, limit + DRAIN_REPORT_SLACK_MS)
        : undefined;
    return c.json({ ...result, drain });
  });
  app.post("/:name/split", async (c) => {
    const { greenPercent, force } = await readBody(c, splitBody);
    return c.json(
      await run(
        c.req.param("name"),
        { kind: "split", greenPercent },
        actorOf(c.req.header("user-agent")),
        force,
      ),
    );
  });
  for (const kind of ["pause", "resume"] as const) {
    app.post(`/:name/${kind}`, async (c) => {
      await readBody(c, z.strictObject({}));
      return c.json(await run(c.req.param("name"), { kind }, actorOf(c.req.header("user-agent"))));
    });
  }
  app.post("/:name/maintenance", async (c) => {
    const { enabled } = await readBody(c, maintenanceBody);
    return c.json(
      await run(c.req.param("name"), { kind: "maintenance", enabled }, actorOf(c.req.header("user-agent"))),
    );
  });
  return app;
}

export function actorOf(userAgent: string | undefined): string {
  return userAgent?.startsWith("teal-cli") ? "cli" : "api";
}
