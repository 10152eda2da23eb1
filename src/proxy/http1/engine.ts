/** The fast engine: teal's own HTTP/1 server and upstream client on Node's internal parser. */

import type { ProxyEngine } from "../engine.ts";
import { Http1Client } from "./client.ts";
import { Http1Server } from "./server.ts";

export const fastEngine: ProxyEngine = {
  name: "fast",
  createServer: (options, handlers) => new Http1Server(options, handlers),
  createConnectionServer: (options, handlers) => new Http1Server(options, handlers),
  createClient: (options) => new Http1Client(options),
};
