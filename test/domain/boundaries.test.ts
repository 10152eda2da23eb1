import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { forbiddenImports, importCycles, importGraph } from "../support/import-graph.ts";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "../../src");

/**
 * The core imports only the core: domain/ (rules), config/ (the user's file), traffic/ (what the
 * control plane and a data plane say to each other). Adapters (proxy/, routers/, runtime/, store/,
 * workers/, server/...) depend on the core, never the other way round.
 */
const CORE = ["domain", "config", "traffic"];
const CORE_RULES = { domain: CORE, config: CORE, traffic: CORE };

/** The control plane and the external routers speak traffic/, not teal's proxy's internals. */
function proxyImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  return [...graph].flatMap(([from, targets]) =>
    /^(routers|control)\//.test(from)
      ? targets.filter((to) => /^(proxy|workers)\//.test(to)).map((to) => `${from} -> ${to}`)
      : [],
  );
}

describe("import boundaries in src/", () => {
  const graph = importGraph(SRC);

  it("reads the whole source tree", () => {
    assert.ok(graph.size > 100, `only ${graph.size} files found under ${SRC}`);
    assert.ok(graph.get("domain/slot.ts") !== undefined);
  });

  it("keeps domain/, config/ and traffic/ free of adapters", () => {
    assert.deepEqual(forbiddenImports(graph, CORE_RULES), []);
  });

  it("keeps routers/ and control/ off teal's proxy internals (they import traffic/)", () => {
    assert.deepEqual(proxyImports(graph), []);
  });

  it("has no import cycle", () => {
    assert.deepEqual(importCycles(graph), []);
  });
});

describe("the boundary check itself", () => {
  it("catches an adapter import in the core, a proxy import in routers/ and a cycle (also through import())", async () => {
    const root = join(tmpdir(), `teal-boundaries-${process.pid}`);
    const files: Record<string, string> = {
      "domain/slot.ts": 'import type { InstanceRecord } from "../runtime/runtime.ts";\n',
      "runtime/runtime.ts": "export interface InstanceRecord {}\n",
      "config/schema.ts": 'import {\n  capabilityIssues,\n} from "../routers/capabilities.ts";\n',
      "routers/capabilities.ts": 'import type { ServiceSpec } from "../proxy/spec.ts";\n',
      "proxy/spec.ts": 'import { Color } from "../domain/color.ts";\n',
      "domain/color.ts": "export type Color = string;\n",
      "deploy/a.ts": 'import { b } from "./b.ts";\n',
      "deploy/b.ts": 'const c = () => import("./a.ts");\n',
    };
    try {
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), text);
      }
      const graph = importGraph(root);
      assert.deepEqual(forbiddenImports(graph, CORE_RULES), [
        "config/schema.ts -> routers/capabilities.ts",
        "domain/slot.ts -> runtime/runtime.ts",
      ]);
      assert.deepEqual(proxyImports(graph), ["routers/capabilities.ts -> proxy/spec.ts"]);
      assert.deepEqual(importCycles(graph), [["deploy/a.ts", "deploy/b.ts"]]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
