/** The node-http engine: node:http's server and http.request, documented APIs only (engine.ts). */

import type { ProxyEngine } from "../engine.ts";
import { NodeHttpClient } from "./client.ts";
import { NodeHttpServer } from "./server.ts";

export const nodeHttpEngine: ProxyEngine = {
  name: "node-http",
  createServer: (options, handlers) => new NodeHttpServer(options, handlers),
  createClient: (options) => new NodeHttpClient(options),
};
