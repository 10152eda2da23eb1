/**
 * Preloaded by scripts/test-on-node.sh (NODE_OPTIONS=--import, so teal's child processes get it
 * too): resolves the package `better-sqlite3` to the copy named by TEAL_TEST_BETTER_SQLITE3, whose
 * native module is built for the Node that runs. Why not swap the module inside node_modules for
 * the run: node_modules may be shared by other checkouts (a symlink) and by a run on another Node
 * at the same time, and they would load a module built for the wrong Node.
 */
import { register } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

const dir = process.env.TEAL_TEST_BETTER_SQLITE3;
if (!dir) throw new Error("TEAL_TEST_BETTER_SQLITE3 must name a built copy of better-sqlite3");
const entry = pathToFileURL(join(dir, "lib", "index.js")).href;

// This file is also the hooks module, evaluated again in the hooks thread: register only once.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  if (specifier === "better-sqlite3") return { url: entry, format: "commonjs", shortCircuit: true };
  return nextResolve(specifier, context);
}
