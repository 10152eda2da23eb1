/** Which traffic router serves a service: teal's own proxy, or an nginx or HAProxy that teal drives. */

import { z } from "zod";

const positiveMs = z.number().int("must be a whole number of milliseconds").positive("must be > 0");
/** Characters nginx or HAProxy would read as syntax (or a variable) in a path teal writes into their config. */
const UNSAFE_PATH = /[\s;{}$#"'\\]/;
const path = z
  .string()
  .min(1, { message: "must be a file path", abort: true })
  .refine(
    (v) => !UNSAFE_PATH.test(v),
    "must be a file path without spaces or any of ; { } $ # \" ' \\ (nginx and HAProxy would read them as config syntax): choose a plainer path",
  );
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;
const portInRange = (v: string) => {
  const port = Number(v.slice(v.lastIndexOf(":") + 1));
  return port >= 1 && port <= 65535;
};
const listen = z
  .string()
  .regex(HOST_PORT, { message: "must be HOST:PORT, e.g. 127.0.0.1:8081", abort: true })
  .refine(portInRange, "port must be 1..65535");
/** A unix socket path (anything with a /), or HOST:PORT of `stats socket ipv4@HOST:PORT`. */
const socket = z
  .string()
  .min(1, { message: "must be a unix socket path or HOST:PORT", abort: true })
  .superRefine((v, ctx) => {
    if (v.includes("/")) {
      if (UNSAFE_PATH.test(v)) {
        ctx.addIssue({
          code: "custom",
          message: "must be a socket path without spaces or any of ; { } $ # \" ' \\: choose a plainer path",
        });
      }
    } else if (!HOST_PORT.test(v) || !portInRange(v)) {
      ctx.addIssue({
        code: "custom",
        message:
          "must be a unix socket path containing a / (e.g. /run/haproxy/admin.sock or ./admin.sock) or HOST:PORT with a port 1..65535 (e.g. 127.0.0.1:9999)",
      });
    }
  });
const haproxyName = z.string().regex(/^[A-Za-z0-9_.:-]+$/, "must be an HAProxy backend or server name");

export const nginxRouterSchema = z.strictObject({
  type: z.literal("nginx"),
  /** The file teal owns and rewrites; the main config must `include` it by this exact path. */
  configFile: path,
  /** nginx's main config (passed as -c): tested with the candidate file, then reloaded. */
  mainConfig: path,
  /** Where nginx serves this service; teal renders the server block for it. */
  listen,
  /** nginx's -p prefix, when the main config uses relative paths. */
  prefix: path.optional(),
  binary: z.string().min(1).default("nginx"),
  /** JSON access log teal renders and reads for per-color metrics; default: <configFile>.access.log. */
  accessLog: path.optional(),
  /** How long a reload gets until nginx serves the new generation. */
  verifyTimeoutMs: positiveMs.default(10_000),
  /** Idle keep-alive connections nginx keeps to each color's upstream (per worker). */
  upstreamKeepalive: z.number().int().min(1).max(10_000).default(64),
});

export const haproxyRouterSchema = z.strictObject({
  type: z.literal("haproxy"),
  /** The runtime API (stats socket, `level admin`): a unix socket path, or HOST:PORT. */
  socket,
  /** The backend whose server slots teal fills. */
  backend: haproxyName,
  /** Server name prefixes of each color's slots, e.g. blue1..blueN (`server-template blue 1-N …`). */
  slots: z
    .strictObject({ blue: haproxyName.default("blue"), green: haproxyName.default("green") })
    .default({ blue: "blue", green: "green" }),
  /** Backends holding only one color, which the frontend selects by the override header. */
  overrideBackends: z.strictObject({ blue: haproxyName, green: haproxyName }).optional(),
  /** teal writes `show servers state` here after each change, for `server-state-file`. */
  stateFile: path.optional(),
  /** How often teal checks that HAProxy still runs what it set (restart or reload: re-applied). */
  reconcileIntervalMs: positiveMs.default(1_000),
});

const externalRouterSchema = z.discriminatedUnion("type", [nginxRouterSchema, haproxyRouterSchema], {
  message: 'type must be "nginx" or "haproxy" (or write router: teal)',
});

/** "teal" (default), or an external router whose own field errors are reported by path. */
export const routerSchema = z
  .unknown()
  .optional()
  .transform((value, ctx): "teal" | z.infer<typeof externalRouterSchema> => {
    if (value === undefined || value === "teal") return "teal";
    if (typeof value !== "object" || value === null) {
      ctx.addIssue({ code: "custom", message: 'must be "teal", { type: nginx, … } or { type: haproxy, … }' });
      return z.NEVER;
    }
    const parsed = externalRouterSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      const missing = issue.code === "invalid_type" && issue.input === undefined;
      ctx.addIssue({ code: "custom", path: issue.path, message: missing ? "is required" : issue.message });
    }
    return z.NEVER;
  });

export type RouterConfig = z.infer<typeof routerSchema>;
export type NginxRouterConfig = z.infer<typeof nginxRouterSchema>;
export type HaproxyRouterConfig = z.infer<typeof haproxyRouterSchema>;
