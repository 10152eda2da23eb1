/**
 * Starts a DataPlane on 127.0.0.1:0 with test-friendly settings and a spec builder. The proxy
 * engine is TEAL_TEST_PROXY_ENGINE's (auto, fast or node-http; auto when unset), so that one
 * suite runs on both engines (npm run test:proxy:node-http).
 */

import type { Color } from "../../src/domain/color.ts";
import { INITIAL_ROUTING, type RoutingState } from "../../src/domain/routing.ts";
import { DataPlane, type DataPlaneEvents } from "../../src/proxy/data-plane.ts";
import type { ProxyEngine } from "../../src/proxy/engine.ts";
import { ENGINE_SETTINGS } from "../../src/proxy/engine-choice.ts";
import { selectEngine } from "../../src/proxy/engines.ts";
import type { EngineSetting, ProxySettings, ServiceSpec } from "../../src/traffic/spec.ts";

/** The engine the tests run the proxy on. */
export const testEngineSetting: EngineSetting = engineFromEnv();

function engineFromEnv(): EngineSetting {
  const value = process.env.TEAL_TEST_PROXY_ENGINE ?? "auto";
  if (!(ENGINE_SETTINGS as readonly string[]).includes(value)) {
    throw new Error(`TEAL_TEST_PROXY_ENGINE=${value}: use one of ${ENGINE_SETTINGS.join(", ")}`);
  }
  return value as EngineSetting;
}

/** The engine itself, for tests that build proxy parts without a DataPlane. */
export function testEngine(): ProxyEngine {
  return selectEngine(testEngineSetting, () => {});
}

export const testSettings: ProxySettings = {
  listen: "127.0.0.1:0",
  engine: testEngineSetting,
  trustedProxies: [],
  accessLog: true,
  requestIdHeader: "x-request-id",
  maxHeaderBytes: 16_384,
  upstreamConnections: 64,
  upstreamQueue: 1_024,
  clientRequests: 128,
  requestBufferBytes: 16_384,
  timeouts: {
    connectMs: 2_000,
    headersMs: 5_000,
    idleMs: 5_000,
    clientKeepAliveMs: 30_000,
    clientHeadersMs: 10_000,
    clientBodyMs: 10_000,
    clientSendMs: 10_000,
    queueMs: 10_000,
  },
};

export function serviceSpec(
  name: string,
  endpoints: Record<Color, string[]>,
  extra: Partial<Omit<ServiceSpec, "routing">> & { routing?: Partial<RoutingState> } = {},
): ServiceSpec {
  return {
    name,
    routes: [{ path: "/", stripPrefix: false }],
    drainTimeoutMs: 5_000,
    pauseTimeoutMs: 5_000,
    override: { header: "x-teal-color", allowFrom: ["127.0.0.0/8", "::1/128"] },
    sticky: undefined,
    allowlist: [],
    ...extra,
    endpoints,
    routing: { ...INITIAL_ROUTING, ...extra.routing },
  };
}

export async function startDataPlane(
  services: ServiceSpec[],
  settings: Partial<ProxySettings> = {},
  events: DataPlaneEvents = {},
): Promise<{ plane: DataPlane; url: string; port: number; generation: { next: () => number } }> {
  const plane = new DataPlane({ ...testSettings, ...settings }, events);
  let gen = 1;
  plane.apply({ generation: gen, services });
  const address = await plane.listen();
  return {
    plane,
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    generation: { next: () => ++gen },
  };
}
