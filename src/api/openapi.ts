/** The admin API's OpenAPI 3.1 document, served at GET /v1/openapi.json. */

const error = { $ref: "#/components/schemas/Error" };
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const errors = {
  "400": { description: "Invalid input; the message names the field", ...json(error) },
  "401": { description: "Missing or wrong token", ...json(error) },
  "404": { description: "Unknown service", ...json(error) },
  "409": { description: "Refused in the current state", ...json(error) },
};
const service = { name: "name", in: "path", required: true, schema: { type: "string" } };
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
    securitySchemes: { token: { type: "http", scheme: "bearer" } },
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
    "/v1/health": {
      get: { summary: "Liveness (no token)", security: [], responses: { "200": { description: "Up" } } },
    },
    "/v1/status": {
      get: {
        summary: "Every service: routing, endpoints, drains, traffic",
        responses: { "200": { description: "Status" }, ...errors },
      },
    },
    "/metrics": {
      get: { summary: "Prometheus metrics", responses: { "200": { description: "Text exposition format" } } },
    },
    "/v1/services/{name}/switch": command("Send all traffic to one color (default: the other one)", {
      type: "object",
      properties: { to: { enum: ["blue", "green"] }, waitForDrain: { type: "boolean" } },
    }),
    "/v1/services/{name}/split": command("Set the share of traffic that goes to green", {
      type: "object",
      required: ["greenPercent"],
      properties: { greenPercent: { type: "integer", minimum: 0, maximum: 100 } },
    }),
    "/v1/services/{name}/pause": command("Hold new requests until resume (or the pause timeout)"),
    "/v1/services/{name}/resume": command("Release held requests in order"),
    "/v1/services/{name}/maintenance": command("Serve a 503 maintenance page, or stop doing so", {
      type: "object",
      required: ["enabled"],
      properties: { enabled: { type: "boolean" } },
    }),
  },
} as const;
