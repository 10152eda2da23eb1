/** The one schema for teal.yaml; the API and CLI validate their input with pieces of it. */

import { isIP } from "node:net";
import { normalize } from "node:path";
import { z } from "zod";
import { HTTP2_DEFAULTS } from "../traffic/tls.ts";
import { capabilityIssues } from "./capabilities.ts";
import { type NginxRouterConfig, type RouterConfig, routerSchema } from "./router-schema.ts";

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, {
    message: "must be HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free port)",
    abort: true,
  })
  .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "port must be 0..65535");

/** A DNS host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An upstream's host: a DNS name, or a container name such as app_1 (underscores allowed). */
const ENDPOINT_HOST = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?)*$/;

/** Whether a URL's hostname is an IP literal (IPv4, or IPv6 in brackets). */
function isIpHost(hostname: string): boolean {
  return isIP(hostname) === 4 || (/^\[.+\]$/.test(hostname) && isIP(hostname.slice(1, -1)) === 6);
}

const endpointUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (
        u.protocol === "http:" && u.pathname === "/" && !u.search && !u.hash && !u.username && !u.password
      );
    } catch {
      return false;
    }
  }, "must be a plain http:// URL with host and port and no path, e.g. http://127.0.0.1:9001")
  // The host lands in nginx `server` lines and in HAProxy runtime API commands: nothing but a name or an IP.
  .refine((v) => {
    try {
      const host = new URL(v).hostname;
      return isIpHost(host) || ENDPOINT_HOST.test(host);
    } catch {
      return true; // reported above
    }
  }, "must have a host name (letters, digits, dots, hyphens, underscores), an IPv4 address or a bracketed IPv6 address, e.g. http://10.0.0.5:9001 or http://[::1]:9001");

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

/** Route paths: what is safe both in teal's route table and in an nginx `location`. */
export const ROUTE_PATH = /^\/[A-Za-z0-9._~%/-]*$/;

export const routeSchema = z.strictObject({
  host: z
    .string()
    .refine(
      (v) => HOST_NAME.test(v.startsWith("*.") ? v.slice(2) : v),
      "must be a host name like app.example.com or *.example.com",
    )
    .transform((v) => v.toLowerCase())
    .optional(),
  // Routers paste the path into their config (nginx `location`, a rewrite regex): a strict charset.
  path: z
    .string()
    .startsWith("/", { message: "must start with /", abort: true })
    .regex(ROUTE_PATH, "must be a URL path of letters, digits and . _ ~ % / - only, e.g. /api or /v2/orders")
    .default("/"),
  stripPrefix: z.boolean().default(false),
  /** Plain HTTP requests to this route are sent to HTTPS (301, 308 for methods other than GET/HEAD); needs proxy.tls. */
  redirectHttps: z.boolean().optional(),
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

/** Names every JavaScript object answers to: a service so named would be confused with them. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
const reservedMessage = (name: string) =>
  `"${name}" is reserved (every JavaScript object has a property of that name): choose another service name`;

export const serviceNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lowercase letters, digits, - or _ (at most 63)")
  .refine((name) => !RESERVED_NAMES.has(name), { error: (issue) => reservedMessage(String(issue.input)) });

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

/** A duration: milliseconds, or text like "500ms", "30s", "5m", "1h". */
export const durationSchema = z
  .union(
    [
      z.number().int("must be a whole number of milliseconds").min(0, "must be >= 0"),
      z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'must be a duration like "30s", "5m" or milliseconds'),
    ],
    { message: 'must be a duration like "30s", "5m" or milliseconds' },
  )
  .transform((v) => (typeof v === "number" ? v : parseDuration(v)));

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

const httpUrl = z.string().refine((v) => {
  try {
    return ["http:", "https:"].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, "must be an http:// or https:// URL");

export const METRICS = ["errorRate", "p50", "p95", "p99"] as const;

export const checkSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, "must be a short name (letters, digits, _ . -)"),
    /** teal's own per-color proxy metrics over the analysis window. */
    metric: z.enum(METRICS, { message: 'must be "errorRate", "p50", "p95" or "p99"' }).optional(),
    /** Count 4xx as errors too (errorRate). */
    include4xx: z.boolean().default(false),
    /** A PromQL query whose first sample is the value; {{color}}, {{version}}, {{service}} are filled in. */
    prometheus: z.strictObject({ address: httpUrl, query: z.string().min(1) }).optional(),
    /** An HTTP endpoint answering JSON; jsonPath is a dotted path to the value. */
    web: z
      .strictObject({
        url: httpUrl,
        jsonPath: z.string().min(1),
        headers: z.record(z.string(), z.string()).default({}),
        timeoutMs: positiveMs.default(5_000),
      })
      .optional(),
    max: z.number().optional(),
    min: z.number().optional(),
    maxAboveStable: z.number().min(0).optional(),
    maxRatioToStable: z.number().positive().optional(),
    /** With maxRatioToStable: a worsening of at most this much (the metric's unit) passes whatever the ratio. */
    noiseFloor: z.number().min(0, "must be >= 0 (in the metric's unit: ms for latency)").optional(),
    /** The statistical form: fail only when worse beyond chance (confidence) and beyond tolerance. */
    compare: z
      .strictObject({
        confidence: z
          .number()
          .gt(0.5, "must be > 0.5 (e.g. 0.95)")
          .max(0.9999, "must be at most 0.9999")
          .default(0.95),
        tolerance: z.number().min(0, "must be >= 0 (latency: 0.1 = 10% slower; errorRate: 0.01 = one point)"),
      })
      .optional(),
    /** Time between measurements. */
    interval: durationSchema.default(5_000),
    /** Passing measurements needed to pass; default: measure until the analysis ends. */
    count: z.number().int().min(1).optional(),
    failureLimit: z.number().int().min(0).default(0),
    consecutiveErrorLimit: z.number().int().min(0).default(4),
    /** Fewer requests than this in the window: inconclusive (teal's own metrics). */
    minRequests: z.number().int().min(0).default(50),
    /** A second counts for relative checks only when each color completed at least this many requests in it. */
    minSliceRequests: z.number().int().min(1, "must be >= 1").default(5),
    /** Relative checks: fewer seconds in which both colors served than this is inconclusive. */
    minSlices: z.number().int().min(1, "must be >= 1").default(3),
  })
  .superRefine((c, ctx) => {
    const sources = [c.metric, c.prometheus, c.web].filter((x) => x !== undefined).length;
    if (sources !== 1) {
      ctx.addIssue({ code: "custom", message: "needs exactly one of metric, prometheus or web" });
    }
    if ([c.max, c.min, c.maxAboveStable, c.maxRatioToStable, c.compare].every((x) => x === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "needs a threshold: max, min, maxAboveStable, maxRatioToStable or compare",
      });
    }
    if (c.compare !== undefined && c.metric === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["compare"],
        message: "compares teal's own metrics per color (metric: errorRate, p50, p95 or p99); use max or min",
      });
    }
    if (c.compare !== undefined && (c.maxAboveStable !== undefined || c.maxRatioToStable !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["compare"],
        message: "is an alternative to maxAboveStable and maxRatioToStable: keep one of them",
      });
    }
    if (c.noiseFloor !== undefined && c.maxRatioToStable === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["noiseFloor"],
        message:
          "applies to maxRatioToStable (how much above stable a ratio's failure must also be): add maxRatioToStable or remove noiseFloor",
      });
    }
    if (c.metric === undefined && (c.maxAboveStable !== undefined || c.maxRatioToStable !== undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "maxAboveStable and maxRatioToStable compare teal's own metrics per color; use max or min",
      });
    }
  });

export const analysisSchema = z.strictObject({
  /** The sliding window every check measures over. */
  window: durationSchema.default(60_000),
  /** Relative checks leave out the new color's first seconds of traffic, while a fresh process warms up. */
  warmup: durationSchema.default(0),
  checks: z.array(checkSchema).default([]),
});

export const stepSchema = z.union(
  [
    z.strictObject({ setWeight: z.number().int().min(0).max(100) }),
    /** No duration: wait for `teal promote`. */
    z.strictObject({ pause: z.strictObject({ duration: durationSchema.optional() }) }),
    /** Run the service's checks (or the named ones) in the foreground for the duration or their count. */
    z.strictObject({
      analysis: z.strictObject({
        duration: durationSchema.optional(),
        checks: z.array(z.string()).optional(),
      }),
    }),
  ],
  { message: "must be { setWeight: N }, { pause: { duration } } or { analysis: { duration } }" },
);

export const PRESETS = [
  "AllAtOnce",
  "Canary10Percent5Minutes",
  "Canary10Percent10Minutes",
  "Canary10Percent15Minutes",
  "Canary10Percent30Minutes",
  "Linear10PercentEvery1Minute",
  "Linear10PercentEvery2Minutes",
  "Linear10PercentEvery3Minutes",
  "Linear10PercentEvery10Minutes",
] as const;

/**
 * Makes a union form's unknown fields rule it out. zod lets them through as a lesser problem, and
 * then reports `{ canary: { steps: [bad] } }` as a blueGreen form with an unknown field "canary"
 * instead of naming the bad step.
 */
const noOtherFields = (payload: z.core.ParsePayload) => {
  if (payload.issues.some((issue) => issue.code === "unrecognized_keys")) {
    payload.issues.push({ code: "custom", message: "not this form", input: payload.value, continue: false });
  }
};

export const strategySchema = z.union(
  [
    z
      .strictObject({
        blueGreen: z
          .strictObject({
            /** false: the new color waits (reachable only through the override header) until `teal promote`. */
            autoPromote: z.boolean().default(true),
          })
          .default({ autoPromote: true }),
        /** Post-promotion analysis: how long the checks keep watching after the switch. */
        monitor: durationSchema.default(0),
      })
      .check(noOtherFields),
    z
      .strictObject({
        canary: z.strictObject({ steps: z.array(stepSchema).min(1, "needs at least one step") }),
        monitor: durationSchema.default(0),
      })
      .check(noOtherFields),
    z
      .strictObject({
        preset: z.enum(PRESETS, { message: `must be one of ${PRESETS.join(", ")}` }),
        monitor: durationSchema.default(0),
      })
      .check(noOtherFields),
  ],
  { message: "must be { blueGreen: {…} }, { canary: { steps: […] } } or { preset: Name }" },
);

export const hookSchema = z.union(
  [
    z.strictObject({
      name: z.string().min(1).optional(),
      command: commandSchema,
      timeoutMs: positiveMs.default(30_000),
    }),
    z.strictObject({
      name: z.string().min(1).optional(),
      http: z.strictObject({
        url: httpUrl,
        method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).default("POST"),
        headers: z.record(z.string(), z.string()).default({}),
        /** Default: a JSON description of the deployment and the hook point. */
        body: z.string().optional(),
      }),
      timeoutMs: positiveMs.default(30_000),
    }),
  ],
  { message: 'must be { command: "..." } or { http: { url: ... } }' },
);

/** Lifecycle hooks. Before traffic, a failing hook stops the deployment; after, it rolls back. */
export const hooksSchema = z.strictObject({
  beforeTraffic: z.array(hookSchema).default([]),
  afterTraffic: z.array(hookSchema).default([]),
  onPromote: z.array(hookSchema).default([]),
  onRollback: z.array(hookSchema).default([]),
});

export const NOTIFICATION_EVENTS = [
  "deployment.started",
  "step.reached",
  "analysis.failed",
  "deployment.rolled_back",
  "deployment.promoted",
  "deployment.failed",
  "deployment.succeeded",
] as const;

export const webhookSchema = z.strictObject({
  url: httpUrl,
  /** "slack": a Slack-compatible {text} message; "json": the event itself. */
  format: z.enum(["json", "slack"]).default("json"),
  /** Default: every event. */
  events: z.array(z.enum(NOTIFICATION_EVENTS)).optional(),
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: positiveMs.default(5_000),
  /** Delivery attempts, with exponential backoff from 1 s. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
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

/**
 * [registry:port/]lowercase/path[:Tag][@sha256:hex], checked with every `{version}` counted as
 * one character. The tag may hold uppercase letters (app:V2, app:1.0-SNAPSHOT); the path may not.
 */
const IMAGE_REFERENCE =
  /^(?:[a-z0-9.-]+:\d{1,5}\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** A Docker image reference: name[:tag][@digest]; `{version}` is replaced by the deployed version. */
export const imageSchema = z
  .string()
  .refine(
    (v) => IMAGE_REFERENCE.test(v.replaceAll("{version}", "0")),
    'must be an image reference like "myapp:1.4", "registry.example.com/team/app:{version}" or "app@sha256:…"',
  );

/** Bytes from "512m", "1g", "256k" or a number of bytes. */
const memorySchema = z
  .union(
    [
      z
        .number()
        .int()
        .min(6 * 1024 * 1024, "must be at least 6m (Docker's minimum)"),
      z.string().regex(/^\d+(\.\d+)?[bkmg]?$/i, 'must be a size like "512m" or "1g"'),
    ],
    { message: 'must be a size like "512m" or "1g"' },
  )
  .transform((v) => (typeof v === "number" ? v : parseSize(v)))
  .refine((v) => v >= 6 * 1024 * 1024, "must be at least 6m (Docker's minimum)");

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(text)!;
  const unit = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "b"];
  return Math.round(Number(m[1]) * unit);
}

/** "SOURCE:TARGET[:ro|rw]": a host path (relative to the config file) or a named volume. */
const volumeSchema = z
  .string()
  .regex(
    /^[^:]+:\/[^:]*(:(ro|rw))?$/,
    'must be "SOURCE:/container/path" or "SOURCE:/container/path:ro" (SOURCE: a host path or a volume name)',
  );

/** Where the Docker engine listens: unix:///path, tcp://host:port, or an absolute socket path. */
export const dockerHostSchema = z
  .string()
  .regex(
    /^(unix:\/\/\/.+|tcp:\/\/[^/]+:\d+|\/.+)$/,
    "must be unix:///var/run/docker.sock, tcp://HOST:PORT or an absolute socket path",
  );

export const dockerRuntimeSchema = z.strictObject({
  type: z.literal("docker"),
  /** The default image; `teal deploy --image` overrides it per deployment. */
  image: imageSchema,
  /** The port the app listens on inside the container (given to it as PORT). */
  port: z
    .number({ message: "is required: the port the app listens on inside the container, e.g. 3000" })
    .int()
    .min(1, "must be a port 1..65535")
    .max(65535, "must be a port 1..65535"),
  /** Overrides the image's CMD: an argv list, or a command line run by /bin/sh -c in the image. */
  command: commandSchema.optional(),
  env: envSchema.default({}),
  instances: z.number().int().min(1, "must be at least 1").max(32, "must be at most 32").default(1),
  volumes: z.array(volumeSchema).default([]),
  /** A user-defined network to join (it must exist); the port is still published on 127.0.0.1. */
  network: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be the name of an existing Docker network")
    .optional(),
  labels: z
    .record(
      z.string().refine((k) => !k.startsWith("teal."), "teal.* labels are teal's own: choose another key"),
      z.string(),
    )
    .default({}),
  resources: z
    .strictObject({
      memory: memorySchema.optional(),
      cpus: z.number().positive("must be > 0, e.g. 0.5 or 2").max(1024).optional(),
    })
    .default({}),
  /** Run Docker's init (tini) as PID 1, so that signals reach the app and zombies are reaped. */
  init: z.boolean().default(true),
  pull: z
    .enum(["missing", "always", "never"], { message: 'must be "missing", "always" or "never"' })
    .default("missing"),
  /** The engine; default: $DOCKER_HOST, else unix:///var/run/docker.sock. */
  host: dockerHostSchema.optional(),
  stopSignal: z.enum(["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2"]).default("SIGTERM"),
  stopTimeoutMs: positiveMs.default(10_000),
  /** Each container's captured output is rotated past this size (one old file is kept). */
  logMaxBytes: z
    .number()
    .int()
    .min(4096)
    .default(10 * 1024 * 1024),
});

export const runtimeSchema = z.discriminatedUnion(
  "type",
  [z.strictObject({ type: z.literal("static") }), processRuntimeSchema, dockerRuntimeSchema],
  { message: 'type must be "process", "static" or "docker"' },
);

/**
 * A service's database and its migrations (issue 17): `teal deploy` expands the pending migration
 * before the new color starts. The connection string comes from an environment variable or a
 * file, never from teal.yaml itself, where it would sit in plain text in every copy of the file.
 */
export const databaseSchema = z
  .strictObject({
    /** The environment variable (of the teal server) that holds the connection string. */
    urlEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name, e.g. APP_DATABASE_URL")
      .optional(),
    /** A file that holds the connection string (relative to teal.yaml's directory). */
    urlFile: z.string().min(1).optional(),
    /** The directory of migration files (relative to teal.yaml's directory). */
    migrations: z.string().min(1, "names the directory of migration files, e.g. migrations"),
    /** The variable each color gets its schema in; PGOPTIONS carries the same as search_path. */
    schemaEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
      .default("TEAL_DB_SCHEMA"),
    url: z.unknown().optional(),
  })
  .superRefine((db, ctx) => {
    if (db.url !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          "a connection string does not go in teal.yaml (it would be stored in plain text): put it in an environment variable and name it with urlEnv, or in a file named by urlFile",
      });
    }
    if ((db.urlEnv === undefined) === (db.urlFile === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: db.urlEnv === undefined ? ["urlEnv"] : ["urlFile"],
        message:
          db.urlEnv === undefined
            ? "the database needs a connection string: set urlEnv (an environment variable name) or urlFile (a file path)"
            : "give only one of urlEnv and urlFile",
      });
    }
  })
  .transform(({ url: _url, ...db }) => db);

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
    /** How traffic moves to a new version; default: blue-green, all at once. */
    strategy: strategySchema.default(() => strategySchema.parse({ blueGreen: {} })),
    analysis: analysisSchema.default(() => analysisSchema.parse({})),
    hooks: hooksSchema.default(() => hooksSchema.parse({})),
    notifications: z.strictObject({ webhooks: z.array(webhookSchema).default([]) }).default({ webhooks: [] }),
    pauseTimeoutMs: positiveMs.default(30_000),
    override: z.union([overrideSchema, z.literal(false)]).default(() => overrideSchema.parse({})),
    sticky: stickySchema.optional(),
    allowlist: z.array(z.string().min(1)).default([]),
    /** Who routes the traffic: teal's own proxy (default), or an nginx or HAProxy that teal drives. */
    router: routerSchema,
    /** Its database and migrations; none by default. */
    database: databaseSchema.optional(),
  })
  .superRefine((svc, ctx) => {
    for (const issue of capabilityIssues(svc)) ctx.addIssue({ code: "custom", ...issue });
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

const absolutePath = z
  .string()
  .refine((v) => v.startsWith("/"), "must be an absolute path to a PEM file, e.g. /etc/teal/app.pem");

/**
 * proxy.tls.acme: certificates ordered over ACME (HTTP-01 on the plain listener, or TLS-ALPN-01 on
 * the TLS one) for these hosts, kept in teal's store and renewed before they expire (README
 * "HTTPS and HTTP/2", ACME).
 */
const acmeSchema = z.strictObject({
  /** The CA's directory URL, e.g. Let's Encrypt's https://acme-v02.api.letsencrypt.org/directory. */
  directory: z
    .string()
    .refine(
      (v) => URL.canParse(v) && new URL(v).protocol === "https:",
      "must be the CA's https:// directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory",
    ),
  /** The account's contact; the CA writes here about expiring certificates and policy changes. */
  email: z.email("must be an email address for the ACME account, e.g. ops@example.com"),
  hosts: z
    .array(
      z
        .string()
        .refine(
          (v) => HOST_NAME.test(v) && !v.startsWith("*."),
          "must be a host name like app.example.com (HTTP-01 cannot prove a wildcard *.example.com: give each name)",
        ),
    )
    .min(1, "needs at least one host to order a certificate for, e.g. [app.example.com]"),
  renewBeforeDays: z.number().int().min(1).max(60).default(30),
  /** How the CA checks control of a host: HTTP-01 on the plain listener, or TLS-ALPN-01 on the TLS one. */
  challenge: z
    .enum(["http-01", "tls-alpn-01"], {
      message:
        "must be http-01 (the CA connects to port 80: proxy.listen) or tls-alpn-01 (the CA connects to port 443: proxy.tls.listen)",
    })
    .default("http-01"),
  /** Extra CA certificates (PEM) to trust for the directory's HTTPS, e.g. a private CA's root. */
  caFile: absolutePath.optional(),
});

/** proxy.tls: the HTTPS listener (README "HTTPS and HTTP/2"); the files are read at start-up. */
const tlsSchema = z.strictObject({
  listen: hostPort.default("0.0.0.0:8443"),
  certificates: z
    .array(
      z.strictObject({
        /** The certificate, then its chain (intermediates), PEM. */
        cert: absolutePath,
        key: absolutePath,
        /** The names it serves (SNI); default: the certificate's DNS names. */
        hosts: z
          .array(
            z
              .string()
              .refine(
                (v) => HOST_NAME.test(v.startsWith("*.") ? v.slice(2) : v),
                "must be a host name like app.example.com or *.example.com",
              ),
          )
          .min(1)
          .optional(),
      }),
    )
    // Empty only with acme (checked in proxySchema).
    .default([]),
  acme: acmeSchema.optional(),
  hsts: z
    .union([
      z.literal(false),
      z.strictObject({
        maxAge: z.number().int().min(0).max(63_072_000).default(31_536_000),
        includeSubDomains: z.boolean().default(false),
      }),
    ])
    .default(false),
  /** HTTP/2 by ALPN beside HTTP/1.1, and its per-connection limits; false: HTTP/1.1 only. */
  http2: z
    .union([
      z.literal(false),
      z.strictObject({
        maxConcurrentStreams: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(HTTP2_DEFAULTS.maxConcurrentStreams),
        maxResetsPerSecond: z.number().int().min(1).max(100_000).default(HTTP2_DEFAULTS.maxResetsPerSecond),
        maxSessionMemoryMb: z.number().int().min(1).max(1_024).default(HTTP2_DEFAULTS.maxSessionMemoryMb),
        maxHeaderPairs: z.number().int().min(8).max(10_000).default(HTTP2_DEFAULTS.maxHeaderPairs),
      }),
    ])
    .default(HTTP2_DEFAULTS),
});

const proxyFields = z.strictObject({
  listen: hostPort.default("0.0.0.0:8080"),
  /** The proxy's HTTP engine (README "Proxy engines"): auto takes fast when its self-check passes. */
  engine: z
    .enum(["auto", "fast", "node-http"], {
      message: "must be auto (fast when this Node passes its self-check, else node-http), fast or node-http",
    })
    .default("auto"),
  workers: z.union([z.number().int().min(1).max(64), z.literal("auto")]).default("auto"),
  /** An HTTPS listener beside `listen`; left out: plain HTTP only. */
  tls: tlsSchema.optional(),
  /** HTTP/2 without TLS (h2c, prior knowledge) on `listen` beside HTTP/1.1; needs the node-http engine. */
  h2c: z.boolean().default(false),
  /** Proxies in front of teal whose X-Forwarded-For names the real client (nginx's set_real_ip_from). */
  trustedProxies: z.array(cidr).default([]),
  /** The old name of trustedProxies: still read, with a warning at start-up (see config/warnings.ts). */
  trustForwardedFrom: z.array(cidr).optional(),
  accessLog: z.boolean().default(true),
  requestIdHeader: headerName.default("x-request-id"),
  maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
  upstreamConnections: z.number().int().min(1).max(10_000).default(256),
  upstreamQueue: z.number().int().min(0).max(100_000).default(1_024),
  clientRequests: z.number().int().min(1).max(100_000).default(128),
  requestBufferBytes: z.number().int().min(0).max(1_048_576).default(16_384),
  timeouts: z
    .strictObject({
      connectMs: positiveMs.default(5_000),
      headersMs: positiveMs.default(60_000),
      idleMs: positiveMs.default(60_000),
      clientKeepAliveMs: positiveMs.default(65_000),
      clientHeadersMs: positiveMs.default(30_000),
      clientBodyMs: positiveMs.default(60_000),
      clientSendMs: positiveMs.default(60_000),
      queueMs: positiveMs.default(60_000),
    })
    .default(() => ({
      connectMs: 5_000,
      headersMs: 60_000,
      idleMs: 60_000,
      clientKeepAliveMs: 65_000,
      clientHeadersMs: 30_000,
      clientBodyMs: 60_000,
      clientSendMs: 60_000,
      queueMs: 60_000,
    })),
});

export const proxySchema = proxyFields
  .refine((p) => p.tls === undefined || p.tls.certificates.length > 0 || p.tls.acme !== undefined, {
    path: ["tls", "certificates"],
    message:
      "needs at least one certificate, e.g. [{ cert: /etc/teal/app.pem, key: /etc/teal/app.key }], or acme: { directory, email, hosts } to order them",
  })
  .refine((p) => !(p.h2c && p.engine === "fast"), {
    path: ["h2c"],
    message:
      "needs proxy.engine: node-http (or auto, which then runs node-http): the fast engine parses HTTP/1.1 straight off the socket and cannot hand a connection to node:http2; set engine to node-http or remove h2c",
  })
  .refine((p) => p.trustForwardedFrom === undefined || p.trustedProxies.length === 0, {
    path: ["trustForwardedFrom"],
    message: "is the old name of trustedProxies: keep only trustedProxies",
  })
  // One concept, one name from here on: the old key's list becomes trustedProxies (kept only to warn).
  .transform((p) => ({ ...p, trustedProxies: p.trustForwardedFrom ?? p.trustedProxies }));

/**
 * A fleet on etcd (README "A fleet on etcd"): how many agent nodes, the leader included, must run
 * a deployment's new color healthy before it goes on; the others are drained out of the routing.
 */
const QUORUM_MESSAGE =
  "must be all (every live node) or a whole number of nodes from 1 to 1000 (the leader included) whose new color must be healthy before the switch";
export const fleetSchema = z.strictObject({
  quorum: z
    .union(
      [z.literal("all"), z.number().int(QUORUM_MESSAGE).min(1, QUORUM_MESSAGE).max(1_000, QUORUM_MESSAGE)],
      { message: QUORUM_MESSAGE },
    )
    .default("all"),
});

export const adminSchema = z.strictObject({
  listen: hostPort.default("127.0.0.1:7070"),
  publicMetrics: z.boolean().default(false),
});

/**
 * The services by name. zod drops a `__proto__` key without a word (it guards against prototype
 * pollution), so that one is refused here, before the record sees it.
 */
const servicesSchema = z.preprocess(
  (input, ctx) => {
    if (input !== null && typeof input === "object" && Object.hasOwn(input, "__proto__")) {
      ctx.addIssue({
        code: "custom",
        path: ["__proto__"],
        message: `invalid name: ${reservedMessage("__proto__")}`,
      });
    }
    return input;
  },
  z.record(serviceNameSchema, serviceSchema),
);

export const configSchema = z
  .strictObject({
    dataDir: z.string().min(1).optional(),
    proxy: proxySchema.default(() => proxySchema.parse({})),
    admin: adminSchema.default(() => adminSchema.parse({})),
    fleet: fleetSchema.default(() => fleetSchema.parse({})),
    services: servicesSchema.default({}),
  })
  .superRefine((config, ctx) => {
    for (const issue of nginxConflicts(config.services)) ctx.addIssue({ code: "custom", ...issue });
    if (config.proxy.tls !== undefined) return;
    for (const [name, svc] of Object.entries(config.services)) {
      svc.routes.forEach((route, i) => {
        if (route.redirectHttps !== true) return;
        ctx.addIssue({
          code: "custom",
          path: ["services", name, "routes", i, "redirectHttps"],
          message: "needs an HTTPS listener to send clients to: configure proxy.tls, or remove redirectHttps",
        });
      });
    }
  });

/**
 * nginx-routed services render into nginx's shared `http {}`: two of them must not write the same
 * file, nor serve the same host on the same listen address (nginx would ignore one server block).
 */
function nginxConflicts(
  services: Record<string, { routes: readonly { host?: string | undefined }[]; router: RouterConfig }>,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const seen: { name: string; router: NginxRouterConfig; hosts: Set<string> }[] = [];
  for (const [name, svc] of Object.entries(services)) {
    const router = svc.router;
    if (router === "teal" || router.type !== "nginx") continue;
    const hosts = new Set(svc.routes.map((r) => r.host ?? ""));
    for (const other of seen) {
      const files = (r: NginxRouterConfig) => [
        ["configFile", normalize(r.configFile)],
        ["accessLog", normalize(r.accessLog ?? `${r.configFile}.access.log`)],
      ];
      const mine = files(router);
      const theirs = new Set(files(other.router).map(([, f]) => f));
      const shared = mine.find(([, f]) => theirs.has(f!));
      if (shared) {
        issues.push({
          path: ["services", name, "router", shared[0]!],
          message: `service ${other.name} already uses ${shared[1]}: give each nginx-routed service its own configFile (and accessLog)`,
        });
        continue;
      }
      const overlap = [...hosts].find((h) => other.hosts.has(h));
      if (router.listen === other.router.listen && overlap !== undefined) {
        issues.push({
          path: ["services", name, "router", "listen"],
          message: `service ${other.name} is already served by nginx on ${router.listen} for ${overlap === "" ? "any host" : `host ${overlap}`}: give each service its own listen address or its own routes[].host`,
        });
      }
    }
    seen.push({ name, router, hosts });
  }
  return issues;
}

export type TealConfig = z.infer<typeof configSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type HealthConfig = z.infer<typeof healthSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type SmokeCheckConfig = z.infer<typeof smokeCheckSchema>;
export type RuntimeConfig = z.infer<typeof runtimeSchema>;
export type StrategyConfig = z.infer<typeof strategySchema>;
export type StepConfig = z.infer<typeof stepSchema>;
export type CheckConfig = z.infer<typeof checkSchema>;
export type AnalysisConfig = z.infer<typeof analysisSchema>;
export type HookConfig = z.infer<typeof hookSchema>;
export type HooksConfig = z.infer<typeof hooksSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export type ProcessRuntimeConfig = z.infer<typeof processRuntimeSchema>;
export type DockerRuntimeConfig = z.infer<typeof dockerRuntimeSchema>;

/** The health check a service runs: configured, or the defaults for a managed runtime. */
export function effectiveHealth(svc: ServiceConfig): HealthConfig | undefined {
  return svc.health ?? (svc.runtime.type === "static" ? undefined : healthSchema.parse({}));
}
export type ProxyConfig = z.infer<typeof proxySchema>;
export type FleetConfig = z.infer<typeof fleetSchema>;
