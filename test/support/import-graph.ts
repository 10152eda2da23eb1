/**
 * teal's own import graph, read from the source text: which file imports which (relative
 * specifiers only; packages and node: builtins are not part of it). Used by the boundary test to
 * keep the core (domain/, config/, traffic/) free of adapters and src/ free of import cycles.
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Static imports and re-exports (`from "…"`, `import "…"`) and dynamic `import("…")`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

/** Files under `root` (paths relative to it, with "/"), each with the files it imports. */
export function importGraph(root: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      targets.add(
        relative(root, resolve(root, dirname(file), m[1]!))
          .split("\\")
          .join("/"),
      );
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

function sourceFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(root, path));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** The top folder of a path under the root: "domain" for "domain/slot.ts". */
export function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * Imports that cross a boundary: `rules` maps a layer to the layers its files may import
 * (a layer may always import itself). Each as "from -> to".
 */
export function forbiddenImports(
  graph: ReadonlyMap<string, readonly string[]>,
  rules: Readonly<Record<string, readonly string[]>>,
): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const allowed = rules[layerOf(from)];
    if (allowed === undefined) continue;
    for (const to of targets) {
      const layer = layerOf(to);
      if (layer !== layerOf(from) && !allowed.includes(layer)) out.push(`${from} -> ${to}`);
    }
  }
  return out;
}

/** Every import cycle, each as the files around it (Tarjan's strongly connected components). */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}
