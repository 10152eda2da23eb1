#!/usr/bin/env node
// Builds the dashboard (src/dashboard) into dist/dashboard: one hashed script and one hashed
// stylesheet under assets/, and index.html naming them. Run by `npm run build:dashboard`, by
// `npm ci` (prepare) and before packing; the server only serves the result.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

// esbuild is a dev dependency: `npm ci --omit=dev` from a checkout runs `prepare` without it.
const esbuild = await import("esbuild").catch(() => null);
if (!esbuild) {
  console.warn(
    "esbuild is not installed (npm ci --omit=dev?): the dashboard is not built; teal serves a page that says how to build it",
  );
  process.exit(process.argv.includes("--optional") ? 0 : 1);
}
const { build } = esbuild;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src/dashboard");
const out = join(root, "dist/dashboard");

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
const result = await build({
  entryPoints: [join(src, "main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022", "chrome109", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.endsWith(".js"));
const style = outputs.find((f) => f.endsWith(".css"));
const icon = await readFile(join(src, "favicon.svg"));
await writeFile(join(out, "assets/favicon.svg"), icon);
const html = (await readFile(join(src, "index.html"), "utf8"))
  .replace("%SCRIPT%", `/assets/${script}`)
  .replace("%STYLE%", `/assets/${style}`);
await writeFile(join(out, "index.html"), html);

let total = 0;
for (const f of [script, style, "../index.html"]) {
  const bytes = await readFile(join(out, "assets", f));
  const gz = gzipSync(bytes).length;
  total += gz;
  console.log(
    `${basename(f).padEnd(28)} ${(bytes.length / 1024).toFixed(1).padStart(6)} KB  ${(gz / 1024).toFixed(1).padStart(5)} KB gzip`,
  );
}
console.log(`dashboard built in dist/dashboard: ${(total / 1024).toFixed(1)} KB gzip in all`);
