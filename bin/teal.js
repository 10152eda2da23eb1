#!/usr/bin/env -S node --max-semi-space-size=4
// Runs the built CLI if present (npm run build), else the TypeScript sources through tsx.
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space (Node's default
// grows it to 16): with 1,000 idle keep-alive clients teal's RSS is 89.7 MiB instead of 96.7, for
// about 1% more instructions per proxied request (README "Performance"). Run as
// `node dist/cli/main.js`, teal works the same without it.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
