/** The engine (engine.ts) for a `proxy.engine` setting, decided by engine-choice.ts. */

import type { EngineSetting } from "../traffic/spec.ts";
import type { ProxyEngine } from "./engine.ts";
import { chooseEngine } from "./engine-choice.ts";
import { fastEngine } from "./http1/engine.ts";
import { nodeHttpEngine } from "./node-http/engine.ts";

export function selectEngine(setting: EngineSetting, warn: (message: string) => void): ProxyEngine {
  return chooseEngine(setting, warn) === "fast" ? fastEngine : nodeHttpEngine;
}

/**
 * The engine of TLS listeners: node:tls and node:http2 under node-http do the handshakes and
 * HTTP/2; their HTTP/1.1 connections go to the proxy engine's connection server when it has one
 * (the fast engine reads a TLS socket's handle as it reads a plain one: the handle gives the
 * decrypted bytes), else to node:http.
 */
export const tlsEngine: ProxyEngine = nodeHttpEngine;
