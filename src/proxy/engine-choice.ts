/**
 * Which engine (engine.ts) the proxy runs on: `proxy.engine` in the config. `auto` takes the fast
 * one when its self-check passes on this Node, else the documented one with a warning; `fast`
 * insists (a failed self-check stops teal at start-up rather than misparse); `node-http` never
 * touches Node's internals. Light to load: teal's main process decides here before it starts
 * proxy workers, which then get the engine decided.
 */

import { TealError } from "../domain/errors.ts";
import type { EngineName, EngineSetting } from "../traffic/spec.ts";
import { type HttpParserClass, NODE_PARSER } from "./http1/parser.ts";
import { parserProblem } from "./http1/self-check.ts";

export const ENGINE_SETTINGS: readonly EngineSetting[] = ["auto", "fast", "node-http"];

/** The self-check's verdict on this process's Node, taken once. */
let nodeVerdict: { problem: string | undefined } | undefined;

function nodeProblem(): string | undefined {
  if (nodeVerdict === undefined) nodeVerdict = { problem: parserProblem(NODE_PARSER) };
  return nodeVerdict.problem;
}

/**
 * The engine `setting` comes to on this Node. `Parser` is the seam the self-check is tested
 * through (Node's own by default); `warn` hears why `auto` fell back.
 */
export function chooseEngine(
  setting: EngineSetting,
  warn: (message: string) => void,
  Parser: HttpParserClass | undefined = NODE_PARSER,
): EngineName {
  if (setting === "node-http") return "node-http";
  const problem = Parser === NODE_PARSER ? nodeProblem() : parserProblem(Parser);
  if (problem === undefined) return "fast";
  const why = `Node ${process.version}'s internal HTTP parser does not parse as teal's fast proxy engine expects (${problem})`;
  if (setting === "fast") {
    throw new TealError(
      "UNSUPPORTED",
      `proxy.engine: fast cannot run: ${why}. Set proxy.engine to auto or node-http (documented node:http APIs only), or run teal on a Node version it is tested with`,
      { details: { field: "proxy.engine", node: process.version, problem } },
    );
  }
  warn(`${why}: the proxy runs on the node-http engine instead (slower, on documented APIs only)`);
  return "node-http";
}
