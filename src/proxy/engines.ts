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
 * The engine of TLS listeners: node:https under node-http. The fast engine parses bytes read off
 * the socket's handle, and a TLS socket's handle gives the encrypted bytes.
 */
export const tlsEngine: ProxyEngine = nodeHttpEngine;
