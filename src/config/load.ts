/** Reads teal.yaml and turns every problem into one CONFIG_INVALID error naming the exact path. */

import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { TealError } from "../domain/errors.ts";
import { configSchema, type TealConfig } from "./schema.ts";
import { readYaml, readYamlApart, THREAD_FROM_BYTES, type YamlResult } from "./yaml-text.ts";

export async function loadConfigFile(path: string): Promise<TealConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new TealError("CONFIG_NOT_FOUND", `cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // A big config (1,000 services) is parsed off the server's heap: see yaml-text.ts.
  const yaml = text.length >= THREAD_FROM_BYTES ? await readYamlApart(text) : readYaml(text);
  return fromYaml(yaml, path);
}

export function parseConfigText(text: string, source = "teal.yaml"): TealConfig {
  return fromYaml(readYaml(text), source);
}

function fromYaml(yaml: YamlResult, source: string): TealConfig {
  if ("syntax" in yaml) {
    throw new TealError("CONFIG_INVALID", `${source}: YAML syntax error: ${yaml.syntax[0]}`, {
      details: { problems: yaml.syntax.map((message) => ({ path: "", message })) },
    });
  }
  if ("alias" in yaml) {
    // An alias bomb ("billion laughs") is a config mistake or an attack, never an internal error.
    throw new TealError(
      "CONFIG_INVALID",
      `${source}: YAML aliases expand too far (${yaml.alias}): write the repeated values out instead of nesting aliases`,
      { details: { problems: [{ path: "", message: "YAML aliases expand too far" }] } },
    );
  }
  return validateConfig(yaml.value ?? {}, source);
}

export function validateConfig(raw: unknown, source = "config"): TealConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  const lines = problems.map((p) => `  ${p.path || "(top level)"}: ${p.message}`).join("\n");
  throw new TealError("CONFIG_INVALID", `${source} is invalid:\n${lines}`, { details: { problems } });
}

export interface Problem {
  readonly path: string;
  readonly message: string;
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue) => {
    const inner = chosenBranch(issue);
    if (inner) return describeIssues(inner.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
    return [{ path: formatPath(issue.path), message: humanMessage(issue) }];
  });
}

/**
 * A union whose input has the shape of exactly one of its forms (say `{ setWeight: 150 }`, a
 * step) is reported where that form failed (`steps[2].setWeight: must be <= 100`), not as the
 * whole union. The shape matched when the form's only problems lie inside the value: no unknown
 * field and no wrong type at the value itself.
 */
function chosenBranch(issue: z.core.$ZodIssue): readonly z.core.$ZodIssue[] | undefined {
  if (issue.code !== "invalid_union") return undefined;
  const matching = issue.errors.filter((branch) => branch.every((i) => i.path.length > 0));
  return matching.length === 1 ? matching[0] : undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function humanMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}: remove or fix the spelling`;
    case "invalid_type":
      if (issue.input === undefined) {
        // A schema that says what to put there ("is required: the port …") is kept as written.
        return issue.message.startsWith("is required")
          ? issue.message
          : `is required (${article(issue.expected)})`;
      }
      return issue.message.startsWith("Invalid input") ? `must be ${article(issue.expected)}` : issue.message;
    case "invalid_key":
      return `invalid name: ${issue.issues[0]?.message ?? issue.message}`;
    // zod's own words ("Too big: expected number to be <=100") become the field's rule.
    case "too_big":
      return issue.origin === "number" && issue.message.startsWith("Too big")
        ? `must be ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`
        : issue.message;
    case "too_small":
      return issue.origin === "number" && issue.message.startsWith("Too small")
        ? `must be ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`
        : issue.message;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  if (expected === "array") return "a list";
  if (expected === "object") return "a mapping";
  return `a ${expected}`;
}
