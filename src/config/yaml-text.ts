/**
 * YAML text to plain data, with the problems as data too (load.ts turns them into CONFIG_INVALID).
 * A big config is parsed on a short-lived worker thread: yaml's tokens, CST and Document for
 * 1,000 services are ~15 MiB of objects that outlive V8's young generation, so parsed in the
 * server's own heap they grew it for good (V8 keeps the pages it grew into for minutes): RSS
 * 112 MiB right after start instead of ~103. On a thread they go with its heap; only the data
 * crosses (structured clone of plain objects, arrays and scalars).
 */

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { parseDocument } from "yaml";

/** yaml's guard against alias bombs: how many nodes an alias may expand to, relative to the document. */
export const MAX_ALIAS_COUNT = 100;

/** From this size on the text is parsed on a thread (a small config is not worth a thread's start). */
export const THREAD_FROM_BYTES = 64 * 1024;

export type YamlResult =
  | { readonly ok: true; readonly value: unknown }
  /** Syntax errors, first line of each message. */
  | { readonly ok: false; readonly syntax: readonly string[] }
  /** toJS refused: aliases expand too far. */
  | { readonly ok: false; readonly alias: string };

export function readYaml(text: string): YamlResult {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) return { ok: false, syntax: doc.errors.map((e) => e.message.split("\n")[0]!) };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return { ok: false, alias: (err as Error).message };
  }
}

/**
 * readYaml on a thread. The thread's code is plain CommonJS (evaluated, so it runs the same from
 * the sources through tsx and from dist/) and does what readYaml does, with the same yaml module.
 */
export async function readYamlApart(text: string): Promise<YamlResult> {
  const yaml = JSON.stringify(createRequire(import.meta.url).resolve("yaml"));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
const { parseDocument } = require(${yaml});
const doc = parseDocument(workerData, { prettyErrors: true });
let result;
if (doc.errors.length > 0) result = { ok: false, syntax: doc.errors.map((e) => e.message.split("\\n")[0]) };
else {
  try { result = { ok: true, value: doc.toJS({ maxAliasCount: ${MAX_ALIAS_COUNT} }) }; }
  catch (err) { result = { ok: false, alias: err.message }; }
}
parentPort.postMessage(result);`,
    { eval: true, workerData: text, env: {}, stdout: false, stderr: false },
  );
  try {
    return await new Promise<YamlResult>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the YAML parser thread exited (code ${code})`)));
    });
  } finally {
    await worker.terminate();
  }
}
