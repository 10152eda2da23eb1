/** The one schema for teal.yaml; the API and CLI validate their input with pieces of it. */

import { isIP } from "node:net";
import { z } from "zod";

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, {
    message: "must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free port)",
    abort: true,
  })
  .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "port must be 0..65535");

const endpointUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === "http:" && u.pathname === "/" && !u.search && !u.username;
  } catch {
    return false;
  }
}, "must be a plain http:// URL with host and port and no path, e.g. http://127.0.0.1:9001");

const cidr = z.string().refine((v) => {
  const [addr, bits, extra] = v.split("/");
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, "must be an IP address or CIDR, e.g. 10.0.0.0/8 or ::1/128");

const positiveMs = z.number().int("must be a whole number of milliseconds").positive("must be > 0");
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid HTTP header name")
  .transform((v) => v.toLowerCase());

export const routeSchema = z.strictObject({
  host: z
    .string()
    .regex(/^(\*\.)?[A-Za-z0-9.-]+$/, "must be a host name like app.example.com or *.example.com")
    .transform((v) => v.toLowerCase())
    .optional(),
  path: z.string().startsWith("/", "must start with /").default("/"),
  stripPrefix: z.boolean().default(false),
});

export const overrideSchema = z.strictObject({
  header: headerName.default("x-teal-color"),
  allowFrom: z.array(cidr).default(["127.0.0.0/8", "::1/128"]),
});

export const stickySchema = z
  .strictObject({
    cookie: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, "must be a cookie name")
      .optional(),
    header: headerName.optional(),
    setCookie: z.boolean().default(false),
  })
  .refine(
    (v) => v.cookie !== undefined || v.header !== undefined,
    "needs a cookie or a header to read the user key from",
  );

export const serviceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lowercase letters, digits, - or _ (at most 63)");

export const serviceSchema = z.strictObject({
  routes: z.array(routeSchema).min(1, "needs at least one route, e.g. [{ path: / }]"),
  blue: z.array(endpointUrl).default([]),
  green: z.array(endpointUrl).default([]),
  drainTimeoutMs: positiveMs.default(30_000),
  pauseTimeoutMs: positiveMs.default(30_000),
  override: z.union([overrideSchema, z.literal(false)]).default(() => overrideSchema.parse({})),
  sticky: stickySchema.optional(),
  allowlist: z.array(z.string().min(1)).default([]),
});

export const proxySchema = z.strictObject({
  listen: hostPort.default("0.0.0.0:8080"),
  workers: z.union([z.number().int().min(1).max(64), z.literal("auto")]).default("auto"),
  trustForwardedFrom: z.array(cidr).default([]),
  accessLog: z.boolean().default(true),
  requestIdHeader: headerName.default("x-request-id"),
  maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
  upstreamConnections: z.number().int().min(1).max(10_000).default(256),
  timeouts: z
    .strictObject({
      connectMs: positiveMs.default(5_000),
      headersMs: positiveMs.default(60_000),
      idleMs: positiveMs.default(60_000),
      clientKeepAliveMs: positiveMs.default(65_000),
      clientHeadersMs: positiveMs.default(30_000),
    })
    .default(() => ({
      connectMs: 5_000,
      headersMs: 60_000,
      idleMs: 60_000,
      clientKeepAliveMs: 65_000,
      clientHeadersMs: 30_000,
    })),
});

export const adminSchema = z.strictObject({
  listen: hostPort.default("127.0.0.1:7070"),
  publicMetrics: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  dataDir: z.string().min(1).optional(),
  proxy: proxySchema.default(() => proxySchema.parse({})),
  admin: adminSchema.default(() => adminSchema.parse({})),
  services: z.record(serviceNameSchema, serviceSchema).default({}),
});

export type TealConfig = z.infer<typeof configSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type ProxyConfig = z.infer<typeof proxySchema>;
