/**
 * The dashboard's pre-built files (dist/dashboard, made by `npm run build:dashboard`), served
 * without a token: they hold no data, which the page reads from the token-protected API. A strict
 * Content-Security-Policy allows only our own scripts, styles and API calls.
 */

import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

/** From src/api/ and from the built dist/api/ alike, this is <package>/dist/dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>teal dashboard not built</title>
<h1>The teal dashboard is not built</h1>
<p>This copy of teal has no dashboard bundle. In teal's directory run <code>npm run build:dashboard</code>
(or <code>npm ci</code>, which builds it), then reload this page.</p>`;

export function dashboardRoutes(dir: string = DEFAULT_DASHBOARD_DIR): Hono {
  const app = new Hono();
  const cache = new Map<string, Promise<Buffer | undefined>>();
  const load = (path: string) => {
    let file = cache.get(path);
    if (!file) {
      file = readFile(path).catch(() => undefined);
      // A missing file is not cached: the bundle may be built while the server runs.
      void file.then((f) => f === undefined && cache.delete(path));
      cache.set(path, file);
    }
    return file;
  };
  const headers = (type: string, cacheControl: string) => ({
    "content-type": type,
    "cache-control": cacheControl,
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });

  app.get("/", async (c) => {
    const html = await load(join(dir, "index.html"));
    if (!html) return c.html(NOT_BUILT, 503, headers(TYPES[".html"]!, "no-store"));
    return c.body(new Uint8Array(html), 200, headers(TYPES[".html"]!, "no-cache"));
  });
  app.get("/assets/:file", async (c) => {
    const name = c.req.param("file");
    const type = TYPES[extname(name)];
    const body = /^[\w.-]+$/.test(name) && type ? await load(join(dir, "assets", name)) : undefined;
    if (!body) return c.text(`no such dashboard file: ${name}`, 404, headers("text/plain", "no-store"));
    // Names carry a content hash: a new build has new names, so these never go stale.
    return c.body(new Uint8Array(body), 200, headers(type!, "public, max-age=31536000, immutable"));
  });
  return app;
}
