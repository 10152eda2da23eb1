/** The admin API's OpenAPI 3.1 document, served at GET /v1/openapi.json. */

const error = { $ref: "#/components/schemas/Error" };
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const errors = {
  "400": { description: "Invalid input; the message names the field", ...json(error) },
  "401": { description: "Missing or wrong token", ...json(error) },
  "403": {
    description: "FORBIDDEN: the view token may only read; this needs the admin token",
    ...json(error),
  },
  "404": { description: "Unknown service", ...json(error) },
  "409": {
    description:
      "Refused in the current state (e.g. DEPLOYMENT_RUNNING, NOT_HEALTHY, NOT_LEADER on a fleet server that does not lead)",
    ...json(error),
  },
  "413": { description: "PAYLOAD_TOO_LARGE: the request body is over 1 MiB", ...json(error) },
  "422": { description: "Cannot be done for this service (e.g. UNSUPPORTED runtime)", ...json(error) },
};
const service = { name: "name", in: "path", required: true, schema: { type: "string" } };
const seq = { name: "seq", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const deployment = { $ref: "#/components/schemas/Deployment" };
const command = (summary: string, body?: object) => ({
  post: {
    summary,
    parameters: [service],
    ...(body ? { requestBody: { required: true, ...json(body) } } : {}),
    responses: {
      "200": {
        description: "Applied in every proxy process",
        ...json({ $ref: "#/components/schemas/RoutingResult" }),
      },
      ...errors,
    },
  },
});

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "teal admin API", version: "1" },
  components: {
    securitySchemes: {
      token: {
        type: "http",
        scheme: "bearer",
        description:
          "The admin token (<data-dir>/admin.token) may do anything. The view token (<data-dir>/view.token) may only GET, and not instance logs",
      },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
          },
        },
      },
      Routing: {
        type: "object",
        properties: {
          live: { enum: ["blue", "green"] },
          greenPercent: { type: "integer", minimum: 0, maximum: 100 },
          paused: { type: "boolean" },
          maintenance: { type: "boolean" },
        },
      },
      Deployment: {
        type: "object",
        description: "One deployment, with every event that explains it",
        properties: {
          service: { type: "string" },
          seq: { type: "integer", description: "1, 2, 3… per service" },
          kind: { enum: ["deploy", "rollback"] },
          version: { type: "string" },
          color: { enum: ["blue", "green"] },
          from: { type: "object", properties: { color: {}, version: {}, seq: {} } },
          phase: { enum: ["starting", "health", "smoke", "switching", "draining", "finished"] },
          outcome: { enum: ["running", "succeeded", "failed", "rolled_back"] },
          reason: { type: ["string", "null"] },
          rollbackOf: { type: ["integer", "null"] },
          rolledBackBy: { type: ["integer", "null"] },
          rollbackCause: {
            enum: ["operator", "analysis", "hook", "crash", "abort", "shutdown", "error", null],
            description:
              "Why it ended rolled_back (null otherwise): operator = undone after it succeeded by teal rollback (see rolledBackBy); the others = teal sent traffic back during the rollout (failed check, failed hook, crashed instance, teal abort, shutdown, unexpected error)",
          },
          actor: { type: "string" },
          startedAt: { type: "string", format: "date-time" },
          finishedAt: { type: ["string", "null"], format: "date-time" },
          events: {
            type: "array",
            items: {
              type: "object",
              properties: {
                at: { type: "string", format: "date-time" },
                type: { type: "string" },
                message: { type: "string" },
                actor: { type: "string" },
                data: { type: "object" },
              },
            },
          },
        },
      },
      RoutingResult: {
        type: "object",
        properties: {
          service: { type: "string" },
          routing: { $ref: "#/components/schemas/Routing" },
          previous: { $ref: "#/components/schemas/Routing" },
          generation: { type: "integer" },
        },
      },
    },
  },
  security: [{ token: [] }],
  paths: {
    "/": {
      get: {
        summary: "The dashboard page (no token: it holds no data, which it reads from this API)",
        security: [],
        responses: {
          "200": { description: "text/html" },
          "503": { description: "The dashboard is not built" },
        },
      },
    },
    "/assets/{file}": {
      get: {
        summary: "The dashboard's scripts and styles (no token)",
        security: [],
        parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "The file" }, "404": { description: "No such file" } },
      },
    },
    "/v1/health": {
      get: { summary: "Liveness (no token)", security: [], responses: { "200": { description: "Up" } } },
    },
    "/v1/openapi.json": {
      get: {
        summary: "This document (no token)",
        security: [],
        responses: { "200": { description: "OpenAPI 3.1" } },
      },
    },
    "/v1/status": {
      get: {
        summary: "Every service: routing, endpoints, drains, traffic",
        responses: { "200": { description: "Status" }, ...errors },
      },
    },
    "/v1/services/{name}": {
      get: {
        summary: "One service: routing, endpoints, drains, traffic, its deployment (as in /v1/status)",
        parameters: [service],
        responses: { "200": { description: "The service's status" }, ...errors },
      },
    },
    "/v1/live": {
      get: {
        summary:
          "Server-Sent Events for dashboards: history (last 5 min of 1 s samples and markers), status, then each second's sample (requests/s, error rate, p50/p99 per service and color), markers at switches, split moves and rollbacks, and status when it changes",
        responses: {
          "200": { description: "text/event-stream" },
          "429": { description: "TOO_MANY_STREAMS: 64 streams are open already", ...json(error) },
          ...errors,
        },
      },
    },
    "/metrics": {
      get: { summary: "Prometheus metrics", responses: { "200": { description: "Text exposition format" } } },
    },
    "/v1/services/{name}/switch": command("Send all traffic to one color (default: the other one)", {
      type: "object",
      properties: {
        to: { enum: ["blue", "green"] },
        waitForDrain: { type: "boolean" },
        force: { type: "boolean", description: "switch even if the target color is not healthy" },
      },
    }),
    "/v1/services/{name}/split": command("Set the share of traffic that goes to green", {
      type: "object",
      required: ["greenPercent"],
      properties: { greenPercent: { type: "integer", minimum: 0, maximum: 100 }, force: { type: "boolean" } },
    }),
    "/v1/services/{name}/deployments": {
      post: {
        summary: "Deploy a version to the idle color (runs in the background; follow …/events)",
        parameters: [service],
        requestBody: {
          required: true,
          ...json({
            type: "object",
            properties: {
              version: {
                type: "string",
                description:
                  "The version label; required unless image is given (its tag is then the version)",
              },
              image: {
                type: "string",
                description:
                  "docker runtime: the image to deploy, e.g. myapp:1.4 (default: runtime.image with {version} filled in)",
              },
              strategy: {
                type: "string",
                description: "blueGreen, canary, or a preset such as Canary10Percent5Minutes",
              },
              command: { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
              env: { type: "object", additionalProperties: { type: "string" } },
            },
          }),
        },
        responses: {
          "202": { description: "Accepted", ...json({ properties: { deployment: deployment } }) },
          ...errors,
        },
      },
      get: {
        summary: "The service's deployments, newest first",
        parameters: [service, { name: "limit", in: "query", schema: { type: "integer", minimum: 1 } }],
        responses: {
          "200": {
            description: "History",
            ...json({ properties: { deployments: { type: "array", items: deployment } } }),
          },
          ...errors,
        },
      },
    },
    "/v1/services/{name}/deployments/{seq}": {
      get: {
        summary: "One deployment",
        parameters: [service, seq],
        responses: { "200": { description: "The deployment", ...json(deployment) }, ...errors },
      },
    },
    "/v1/services/{name}/deployments/{seq}/events": {
      get: {
        summary:
          "Server-Sent Events: every event so far (event: event), then live ones, then event: end with the record",
        parameters: [service, seq],
        responses: { "200": { description: "text/event-stream" }, ...errors },
      },
    },
    "/v1/services/{name}/rollback": {
      post: {
        summary: "Back to the previous version: a switch while it is warm, else a redeploy",
        parameters: [service],
        responses: {
          "202": { description: "Accepted", ...json({ properties: { deployment: deployment } }) },
          ...errors,
        },
      },
    },
    "/v1/services/{name}/promote": {
      post: {
        summary: "Promote the running rollout: end this pause or wait; full: skip every remaining step",
        parameters: [service],
        requestBody: { ...json({ type: "object", properties: { full: { type: "boolean" } } }) },
        responses: { "200": { description: "Promoted", ...json({ properties: { deployment } }) }, ...errors },
      },
    },
    "/v1/services/{name}/abort": {
      post: {
        summary: "Abort the running rollout: all traffic back on the stable color now",
        parameters: [service],
        responses: {
          "202": { description: "Rolling back", ...json({ properties: { deployment } }) },
          ...errors,
        },
      },
    },
    "/v1/services/{name}/rollout/pause": {
      post: {
        summary: "Hold the running rollout at its step (analysis keeps watching)",
        parameters: [service],
        responses: { "200": { description: "Paused", ...json({ properties: { deployment } }) }, ...errors },
      },
    },
    "/v1/services/{name}/rollout/resume": {
      post: {
        summary: "Let a paused rollout go on",
        parameters: [service],
        responses: { "200": { description: "Resumed", ...json({ properties: { deployment } }) }, ...errors },
      },
    },
    "/v1/services/{name}/logs": {
      get: {
        summary: "The instances' captured output (text); follow=true keeps streaming",
        parameters: [
          service,
          { name: "color", in: "query", schema: { enum: ["blue", "green"] } },
          { name: "lines", in: "query", schema: { type: "integer", minimum: 0 } },
          { name: "follow", in: "query", schema: { type: "boolean" } },
        ],
        responses: { "200": { description: "text/plain" }, ...errors },
      },
    },
    "/v1/services/{name}/pause": command("Hold new requests until resume (or the pause timeout)"),
    "/v1/services/{name}/resume": command("Release held requests in order"),
    "/v1/services/{name}/maintenance": command("Serve a 503 maintenance page, or stop doing so", {
      type: "object",
      required: ["enabled"],
      properties: { enabled: { type: "boolean" } },
    }),
  },
} as const;
