/**
 * One upstream instance: a keep-alive connection pool plus passive health. An endpoint that
 * refuses connections is skipped for a back-off that doubles per consecutive failure (0.5 s up
 * to 10 s); after it, one request probes it again (half-open), and a success restores it.
 */

import type { ProxySettings } from "../traffic/spec.ts";
import type { ProxyEngine, UpstreamClient } from "./engine.ts";

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

export class Endpoint {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly pool: UpstreamClient;
  #failures = 0;
  #downUntil = 0;

  constructor(url: string, settings: ProxySettings, engine: ProxyEngine) {
    const parsed = new URL(url);
    this.url = url;
    this.host = parsed.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(parsed.port || 80);
    this.pool = engine.createClient({
      host: this.host,
      port: this.port,
      connections: settings.upstreamConnections,
      connectTimeoutMs: settings.timeouts.connectMs,
      headersTimeoutMs: settings.timeouts.headersMs,
      bodyTimeoutMs: settings.timeouts.idleMs,
      keepAliveTimeoutMs: 4_000,
      maxQueue: settings.upstreamQueue,
      queueTimeoutMs: settings.timeouts.queueMs,
    });
  }

  /** False while in back-off after connection failures. */
  isAvailable(nowMs: number): boolean {
    return nowMs >= this.#downUntil;
  }

  get healthy(): boolean {
    return this.#failures === 0;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  get downUntilMs(): number {
    return this.#downUntil;
  }

  markFailure(nowMs: number): void {
    this.#failures++;
    this.#downUntil = nowMs + Math.min(FIRST_BACKOFF_MS * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
  }

  markSuccess(): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    this.#downUntil = 0;
  }

  /** Waits for in-flight requests, then closes idle connections. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
