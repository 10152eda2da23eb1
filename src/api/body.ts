/** Parses and validates a JSON request body with a zod schema; failures name the field. */

import type { Context } from "hono";
import type { z } from "zod";
import { describeIssues } from "../config/load.ts";
import { TealError } from "../domain/errors.ts";

export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new TealError("INVALID_REQUEST", "the request body must be JSON");
    }
  }
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  const message = problems.map((p) => `${p.path || "body"}: ${p.message}`).join("; ");
  throw new TealError("INVALID_REQUEST", message, { details: { problems } });
}
