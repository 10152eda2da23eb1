/**
 * proxy.engine and the fast engine's start-up self-check: the internal parser's shape is checked
 * by parsing a request and a response through it; a wrong shape makes `auto` fall back to the
 * node-http engine with a warning and makes `fast` stop teal with the fix. Wrong shapes are fed
 * through the check's own seam (the parser class it is given) and, for `teal server`, by loading
 * a module that rewires Node's internal parser the way a future Node might.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { proxySchema } from "../../src/config/schema.ts";
import { TealError } from "../../src/domain/errors.ts";
import { chooseEngine } from "../../src/proxy/engine-choice.ts";
import { type HttpParserClass, NODE_PARSER } from "../../src/proxy/http1/parser.ts";
import { parserProblem } from "../../src/proxy/http1/self-check.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { startTeal, tempDir, webServiceConfig } from "../support/teal-process.ts";

const BROKEN_PARSER = fileURLToPath(new URL("../fixtures/broken-http-parser.mjs", import.meta.url));

const Node = NODE_PARSER as HttpParserClass;

/** Node's parser with two of its callback indices swapped (a future Node's renumbering). */
function swapped(
  a: "kOnBody" | "kOnHeaders",
  b: "kOnHeadersComplete" | "kOnMessageComplete",
): HttpParserClass {
  class Renumbered extends (Node as unknown as new () => object) {}
  Object.assign(Renumbered, { ...pick(Node), [a]: Node[b], [b]: Node[a] });
  return Renumbered as unknown as HttpParserClass;
}

function pick(P: HttpParserClass): Record<string, number> {
  const keys = [
    "REQUEST",
    "RESPONSE",
    "kOnMessageBegin",
    "kOnHeaders",
    "kOnHeadersComplete",
    "kOnBody",
    "kOnMessageComplete",
    "kOnExecute",
  ] as const;
  return Object.fromEntries(keys.map((k) => [k, P[k]]));
}

describe("the fast engine's self-check", () => {
  it("passes the parser of the Node the tests run on", () => {
    assert.equal(parserProblem(NODE_PARSER), undefined);
  });

  it("finds a missing parser, missing methods and renumbered callbacks", () => {
    assert.equal(parserProblem(undefined), "node:_http_common has no HTTPParser");
    class NoConsume extends (Node as unknown as new () => object) {}
    Object.assign(NoConsume, pick(Node));
    Object.defineProperty(NoConsume.prototype, "consume", { value: undefined });
    assert.equal(parserProblem(NoConsume as unknown as HttpParserClass), "HTTPParser has no consume()");
    assert.match(parserProblem(swapped("kOnBody", "kOnHeadersComplete")) ?? "", /callback threw|read as/);
    // Headers arriving as a long head's early parts only: the request's headers read wrong.
    assert.match(
      parserProblem(swapped("kOnHeaders", "kOnMessageComplete")) ?? "",
      /completed 0 times|read as/,
    );
  });

  it("auto falls back to node-http and says why, naming the Node version", () => {
    const warnings: string[] = [];
    const chosen = chooseEngine("auto", (m) => warnings.push(m), swapped("kOnBody", "kOnHeadersComplete"));
    assert.equal(chosen, "node-http");
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.includes(`Node ${process.version}`), warnings[0]);
    assert.match(warnings[0]!, /runs on the node-http engine instead/);
    assert.equal(
      chooseEngine("auto", (m) => warnings.push(m)),
      "fast",
    );
    assert.equal(warnings.length, 1);
  });

  it("fast refuses to start on a wrong parser, naming the Node version and the setting", () => {
    assert.throws(
      () => chooseEngine("fast", () => {}, swapped("kOnBody", "kOnHeadersComplete")),
      (err: unknown) =>
        err instanceof TealError &&
        err.code === "UNSUPPORTED" &&
        err.message.includes(`Node ${process.version}`) &&
        /Set proxy\.engine to auto or node-http/.test(err.message),
    );
  });

  it("node-http never consults the parser", () => {
    const warnings: string[] = [];
    assert.equal(
      chooseEngine("node-http", (m) => warnings.push(m), undefined),
      "node-http",
    );
    assert.deepEqual(warnings, []);
  });

  it("proxy.engine is validated with the choices named", () => {
    assert.equal(proxySchema.parse({}).engine, "auto");
    const result = proxySchema.safeParse({ engine: "turbo" });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues[0]?.path, ["engine"]);
    assert.match(result.error?.issues[0]?.message ?? "", /must be auto .*, fast or node-http/);
  });
});

describe("teal server on a Node whose internal parser changed", () => {
  let blue: Backend;
  let green: Backend;
  const dirs: { remove: () => Promise<void> }[] = [];

  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
  });

  after(async () => {
    await Promise.all([blue.close(), green.close(), ...dirs.map((d) => d.remove())]);
  });

  it("with proxy.engine: fast, exits 1 before listening, naming the Node version and the fix", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const config = webServiceConfig(blue, green).replace("proxy:\n", "proxy:\n  engine: fast\n");
    await assert.rejects(startTeal(config, dir.path, { preload: BROKEN_PARSER }), (err: Error) => {
      assert.match(err.message, /exited with 1 before listening/);
      assert.ok(err.message.includes(`proxy.engine: fast cannot run: Node ${process.version}`), err.message);
      assert.match(err.message, /Set proxy\.engine to auto or node-http/);
      assert.match(err.message, /\[UNSUPPORTED\]/);
      assert.doesNotMatch(err.message, /\n\s+at /); // no stack trace
      return true;
    });
  });

  it("with proxy.engine: auto, warns and proxies on the node-http engine", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const config = webServiceConfig(blue, green).replace("proxy:\n", "proxy:\n  engine: auto\n");
    const teal = await startTeal(config, dir.path, { preload: BROKEN_PARSER });
    try {
      const warning = teal.logs.find((l) => String(l.msg).includes("internal HTTP parser"));
      assert.ok(warning, "a warning about the parser");
      assert.ok(String(warning.msg).includes(`Node ${process.version}`));
      assert.equal(warning.field, "proxy.engine");
      const res = await fetch(`${teal.proxyUrl}/hello`, { method: "POST", body: "ping" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-backend"), "blue");
    } finally {
      await teal.stop();
    }
  });
});
