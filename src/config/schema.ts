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

/** A shell command line (run by /bin/sh -c) or an argv list (run directly, no shell). */
export const commandSchema = z.union(
  [z.string().trim().min(1, "must not be empty"), z.array(z.string().min(1)).min(1, "must not be empty")],
  { message: 'must be a command line ("node app.js") or a list (["node", "app.js"])' },
);

export const envSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like API_URL"),
  z.union([z.string(), z.number(), z.boolean()]).transform(String),
);

const statusCode = z
  .number()
  .int()
  .min(100, "must be an HTTP status 100..599")
  .max(599, "must be an HTTP status 100..599");

export const healthSchema = z.strictObject({
  path: z.string().startsWith("/", "must start with /").default("/health"),
  intervalMs: positiveMs.default(1_000),
  timeoutMs: positiveMs.default(5_000),
  /** Consecutive successful probes before an instance counts as healthy. */
  healthyThreshold: z.number().int().min(1).max(100).default(2),
  /** Consecutive failed probes before a healthy instance counts as unhealthy. */
  unhealthyThreshold: z.number().int().min(1).max(100).default(3),
  expectStatus: z
    .union([statusCode, z.array(statusCode).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .default([200]),
  /**
   * A dotted path into the JSON health body (e.g. "version" or "build.version") whose value must
   * equal the version being deployed, so a deploy proves the new version really answers.
   */
  versionField: z
    .string()
    .regex(
      /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/,
      "must be a dotted field path like version or build.version",
    )
    .optional(),
});

const smokeBase = {
  name: z.string().min(1).optional(),
  timeoutMs: positiveMs.default(10_000),
};

export const smokeCheckSchema = z.union(
  [
    z.strictObject({
      ...smokeBase,
      http: z.strictObject({
        path: z.string().startsWith("/", "must start with /"),
        method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]).default("GET"),
        headers: z.record(z.string(), z.string()).default({}),
        body: z.string().optional(),
        expectStatus: z
          .union([statusCode, z.array(statusCode).min(1)])
          .transform((v) => (Array.isArray(v) ? v : [v]))
          .default([200]),
        /** A text the response body must contain. */
        expectBody: z.string().optional(),
      }),
    }),
    z.strictObject({ ...smokeBase, command: commandSchema }),
  ],
  { message: 'must be { http: { path: /... } } or { command: "..." }' },
);

export const deploymentSchema = z.strictObject({
  /** How long new instances get to become healthy. */
  timeoutMs: positiveMs.default(30_000),
  /** How long the old color's in-flight requests get after a switch. */
  drainTimeoutMs: positiveMs.default(30_000),
  /** How long the previous color stays running after a switch, for an instant rollback. */
  scaleDownDelayMs: z
    .number()
    .int("must be a whole number of milliseconds")
    .min(0, "must be >= 0")
    .default(30_000),
  smoke: z.array(smokeCheckSchema).default([]),
});

export const processRuntimeSchema = z.strictObject({
  type: z.literal("process"),
  command: commandSchema,
  /** Working directory, relative to the config file's directory. */
  cwd: z.string().min(1).optional(),
  env: envSchema.default({}),
  instances: z.number().int().min(1, "must be at least 1").max(32, "must be at most 32").default(1),
  stopSignal: z.enum(["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"]).default("SIGTERM"),
  stopTimeoutMs: positiveMs.default(10_000),
  /** Each instance's captured output is rotated past this size (one old file is kept). */
  logMaxBytes: z
    .number()
    .int()
    .min(4096)
    .default(10 * 1024 * 1024),
});

/** Built by a later version; declared so that configs can be written and validated now. */
export const dockerRuntimeSchema = z.strictObject({
  type: z.literal("docker"),
  image: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  command: commandSchema.optional(),
  env: envSchema.default({}),
  instances: z.number().int().min(1).max(32).default(1),
  volumes: z.array(z.string().min(1)).default([]),
  network: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).default({}),
  memory: z.string().optional(),
  cpus: z.number().positive().optional(),
  stopTimeoutMs: positiveMs.default(10_000),
});

export const runtimeSchema = z.discriminatedUnion(
  "type",
  [z.strictObject({ type: z.literal("static") }), processRuntimeSchema, dockerRuntimeSchema],
  { message: 'type must be "process", "static" or "docker"' },
);

export const serviceSchema = z
  .strictObject({
    routes: z.array(routeSchema).min(1, "needs at least one route, e.g. [{ path: / }]"),
    /** Instances teal starts and stops; default: static endpoints (blue/green) that you run. */
    runtime: runtimeSchema.default({ type: "static" }),
    /** Static endpoints; only for runtime static. */
    blue: z.array(endpointUrl).default([]),
    green: z.array(endpointUrl).default([]),
    /** Active health checks; always on for managed runtimes, opt-in for static endpoints. */
    health: healthSchema.optional(),
    deployment: deploymentSchema.default(() => deploymentSchema.parse({})),
    pauseTimeoutMs: positiveMs.default(30_000),
    override: z.union([overrideSchema, z.literal(false)]).default(() => overrideSchema.parse({})),
    sticky: stickySchema.optional(),
    allowlist: z.array(z.string().min(1)).default([]),
  })
  .superRefine((svc, ctx) => {
    if (svc.runtime.type === "static") return;
    for (const color of ["blue", "green"] as const) {
      if (svc[color].length > 0) {
        ctx.addIssue({
          code: "custom",
          path: [color],
          message: `static endpoints only go with runtime type static; a ${svc.runtime.type} service gets its endpoints from the instances teal starts: remove ${color}`,
        });
      }
    }
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
export type HealthConfig = z.infer<typeof healthSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type SmokeCheckConfig = z.infer<typeof smokeCheckSchema>;
export type RuntimeConfig = z.infer<typeof runtimeSchema>;
export type ProcessRuntimeConfig = z.infer<typeof processRuntimeSchema>;

/** The health check a service runs: configured, or the defaults for a managed runtime. */
export function effectiveHealth(svc: ServiceConfig): HealthConfig | undefined {
  return svc.health ?? (svc.runtime.type === "static" ? undefined : healthSchema.parse({}));
}
export type ProxyConfig = z.infer<typeof proxySchema>;
