/**
 * Pure: the nginx configuration teal owns for one service, included in the user's `http {}`.
 * Each color is an upstream; `split_clients` draws the color for the canary share (keyed by the
 * sticky cookie/header when configured, else by the request id); a `geo` + `map` pair applies the
 * override header for allowed addresses; a JSON access log records each request's color for
 * teal's analysis; a generation location lets teal verify that a reload is really serving.
 */

import { COLORS, otherColor } from "../../domain/color.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";

/** The path teal probes (exact match) to see which generation nginx serves. */
export const GENERATION_PATH = "/.well-known/teal-generation";

export interface RenderSettings {
  readonly listen: string;
  readonly accessLog: string;
  readonly upstreamKeepalive: number;
}

/**
 * nginx variable names allow letters, digits and _ only. Injective, so that `a-b` and `a_b` get
 * different ids: `_` becomes `__` and any other character `_d` (`-`) or `_xHH`. No id followed by
 * one of the suffixes teal appends (`_color`, `_blue`, …) can equal another id either.
 */
export function nginxId(service: string): string {
  const escaped = service.replace(/[^A-Za-z0-9]/g, (c) =>
    c === "_" ? "__" : c === "-" ? "_d" : `_x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `teal_${escaped}`;
}

/** Values teal pastes into nginx syntax; the config schema refuses anything else, this is the backstop. */
const SAFE = {
  path: /^\/[A-Za-z0-9._~%/-]*$/,
  host: /^(\*\.)?[A-Za-z0-9.-]+$/,
  endpoint: /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
  header: /^[A-Za-z0-9-]+$/,
  cookie: /^[A-Za-z0-9_]+$/,
  // Quoted when rendered, so a space (from the config file's directory) is fine; $ " \ are not.
  file: /^[^\t\n\r;{}$#"'\\]+$/,
  listen: /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/,
  cidr: /^[0-9A-Fa-f:./]+$/,
} as const;

function safe(kind: keyof typeof SAFE, value: string): string {
  if (!SAFE[kind].test(value)) {
    throw new Error(`refusing to render ${kind} ${JSON.stringify(value)} into the nginx config`);
  }
  return value;
}

export function renderService(spec: ServiceSpec, generation: number, s: RenderSettings): string {
  const id = nginxId(spec.name);
  return [
    `# Written by teal for service ${spec.name}, generation ${generation}. Do not edit: teal rewrites it.`,
    `log_format ${id} escape=json '{"color":"$${id}_color","status":$status,"seconds":$request_time,"in":$request_length,"out":$bytes_sent}';`,
    ...COLORS.map((color) => upstream(`${id}_${color}`, spec.endpoints[color], s.upstreamKeepalive)),
    splitBlock(id, spec),
    overrideBlocks(id, spec),
    ...serverBlocks(id, spec, generation, s),
    "",
  ].join("\n");
}

function upstream(name: string, endpoints: readonly string[], keepalive: number): string {
  // max_fails=0: teal's health checks decide who is healthy, not one failed request.
  const servers = endpoints.map((url) => `  server ${safe("endpoint", new URL(url).host)} max_fails=0;`);
  // An upstream needs a server; a color with no instances answers 502.
  if (servers.length === 0) servers.push("  server 127.0.0.1:9 down;");
  return `upstream ${name} {\n${servers.join("\n")}\n  keepalive ${keepalive};\n}`;
}

function splitBlock(id: string, spec: ServiceSpec): string {
  const green = spec.routing.greenPercent;
  const key = stickyKey(id, spec);
  const lines =
    green <= 0 ? ["  * blue;"] : green >= 100 ? ["  * green;"] : [`  ${green}% green;`, "  * blue;"];
  // Green first: raising its share only moves keys from blue to green, never back.
  return `${key.block}split_clients "${key.variable}" $${id}_split {\n${lines.join("\n")}\n}`;
}

function stickyKey(id: string, spec: ServiceSpec): { block: string; variable: string } {
  const sticky = spec.sticky;
  if (!sticky) return { block: "", variable: "$request_id" };
  const source = sticky.header
    ? `$http_${headerVar(sticky.header)}`
    : `$cookie_${safe("cookie", sticky.cookie!)}`;
  // Clients without a key get a random draw, not all the same color.
  return {
    block: `map ${source} $${id}_key {\n  "" $request_id;\n  default ${source};\n}\n`,
    variable: `$${id}_key`,
  };
}

function overrideBlocks(id: string, spec: ServiceSpec): string {
  if (spec.override === false) return `map $${id}_split $${id}_color {\n  default $${id}_split;\n}`;
  const live = spec.routing.live;
  const allowed = spec.override.allowFrom.map((cidr) => `  ${safe("cidr", cidr)} 1;`).join("\n");
  return [
    `geo $${id}_override_from {\n  default 0;\n${allowed}\n}`,
    `map "$${id}_override_from:$http_${headerVar(spec.override.header)}" $${id}_color {`,
    `  default $${id}_split;`,
    `  "~*^1:blue$" blue;`,
    `  "~*^1:green$" green;`,
    `  "~*^1:(true|1|canary|new)$" ${otherColor(live)};`,
    `  "~*^1:(false|0|stable|live)$" ${live};`,
    "}",
  ].join("\n");
}

function serverBlocks(id: string, spec: ServiceSpec, generation: number, s: RenderSettings): string[] {
  const byHost = new Map<string, typeof spec.routes>();
  for (const r of spec.routes) byHost.set(r.host ?? "", [...(byHost.get(r.host ?? "") ?? []), r]);
  return [...byHost].map(([host, routes]) =>
    [
      "server {",
      `  listen ${safe("listen", s.listen)};`,
      `  server_name ${host === "" ? '""' : safe("host", host)};`,
      `  access_log "${safe("file", s.accessLog)}" ${id};`,
      `  location = ${GENERATION_PATH} {\n    access_log off;\n    default_type text/plain;\n    return 200 "${generation}";\n  }`,
      ...routes.flatMap((r) => locations(id, spec, r.path, r.stripPrefix)),
      "}",
    ].join("\n"),
  );
}

function locations(id: string, spec: ServiceSpec, path: string, strip: boolean): string[] {
  safe("path", path);
  const prefix = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const body = spec.routing.maintenance
    ? [`    return 503 "${spec.name} is down for maintenance; please try again shortly\\n";`]
    : [
        ...(strip && prefix !== "/" ? [`    rewrite "^${escapeRegExp(prefix)}/?(.*)$" /$1 break;`] : []),
        `    proxy_pass http://${id}_$${id}_color;`,
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
      ];
  const block = (match: string) => [`  location ${match} {`, ...body, "  }"].join("\n");
  // A prefix matches at a segment boundary only, like teal's own route table.
  return prefix === "/" ? [block("/")] : [block(`= ${prefix}`), block(`${prefix}/`)];
}

/** nginx's $http_NAME reads header NAME with - as _ (case-insensitive). */
function headerVar(header: string): string {
  return safe("header", header).toLowerCase().replace(/-/g, "_");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
