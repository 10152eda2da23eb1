/**
 * teal driving nginx: every change renders the service's config file, tests it with `nginx -t`
 * (in a copy of the main config, so an invalid render never reaches the running nginx), writes
 * it atomically, reloads, and waits until the old workers stopped accepting and a probe on a
 * fresh connection gets the new generation.
 * A reload closes idle keep-alive client connections of the old workers: see the README.
 */

import { readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { isAbsolute, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CAPABILITIES } from "../../config/capabilities.ts";
import { splitHostPort } from "../../config/listen-address.ts";
import type { NginxRouterConfig } from "../../config/router-schema.ts";
import { TealError } from "../../domain/errors.ts";
import { writeFileAtomic } from "../../fs/atomic-file.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../../traffic/status.ts";
import { DrainTracker } from "../drain-tracker.ts";
import { type Router, refusal, routedEndpoints } from "../router.ts";
import { AccessLogCounters } from "./access-log.ts";
import { NginxControl } from "./nginx-control.ts";
import { acceptingWorkers, shuttingDownWorkers } from "./nginx-workers.ts";
import { GENERATION_PATH, renderService } from "./render.ts";

const PROBE_EVERY_MS = 10;

export interface NginxRouterOptions {
  readonly service: string;
  /** With every path absolute. */
  readonly config: NginxRouterConfig;
}

export class NginxRouter implements Router {
  readonly kind = "nginx" as const;
  readonly capabilities = CAPABILITIES.nginx;
  readonly #service: string;
  readonly #config: NginxRouterConfig;
  readonly #control: NginxControl;
  readonly #log: AccessLogCounters;
  readonly #accessLogPath: string;
  #spec: ServiceSpec | undefined;
  #generation = 0;
  readonly #drains = new DrainTracker();

  constructor(options: NginxRouterOptions) {
    this.#service = options.service;
    this.#config = options.config;
    this.#accessLogPath = options.config.accessLog ?? `${options.config.configFile}.access.log`;
    this.#log = new AccessLogCounters(this.#accessLogPath);
    this.#control = new NginxControl({
      binary: options.config.binary,
      mainConfig: options.config.mainConfig,
      configFile: options.config.configFile,
      prefix: options.config.prefix,
    });
  }

  async start(): Promise<void> {
    await this.#log.skipExisting();
  }

  async apply(spec: ServiceSpec, generation: number): Promise<void> {
    const refused = refusal(spec, this.kind, this.capabilities);
    if (refused !== undefined) throw refused;
    let text = "";
    await this.#step("teal cannot render this spec; the running nginx is unchanged", async () => {
      text = renderService(spec, generation, {
        listen: this.#config.listen,
        accessLog: this.#accessLogPath,
        upstreamKeepalive: this.#config.upstreamKeepalive,
      });
    });
    await this.#step("nginx -t refused the new configuration; the running nginx is unchanged", () =>
      this.#test(text),
    );
    const previous = await readFile(this.#config.configFile, "utf8").catch(() => "");
    await writeFileAtomic(this.#config.configFile, text, 0o644);
    try {
      const pidFile = await this.#pidFile();
      const oldWorkers = await acceptingWorkers(pidFile).catch(() => undefined);
      await this.#control.reload();
      await this.#verify(spec, generation, async () =>
        oldWorkers === undefined
          ? true
          : (await acceptingWorkers(pidFile)).every((p) => !oldWorkers.includes(p)),
      );
    } catch (err) {
      // The file must describe what nginx runs, or its next restart would serve an unverified config.
      await writeFileAtomic(this.#config.configFile, previous, 0o644);
      await this.#control.reload().catch(() => {});
      throw this.#failure("reloading nginx failed; teal restored the previous configuration", err);
    }
    this.#drains.follow(this.#spec, spec);
    this.#spec = spec;
    this.#generation = generation;
  }

  async status(): Promise<ServiceRuntimeStatus> {
    await this.#log.read();
    return {
      service: this.#service,
      generation: this.#generation,
      held: 0,
      drains: await this.#drainReports(),
      endpoints: routedEndpoints(this.#spec),
      stats: { blue: this.#log.snapshot("blue"), green: this.#log.snapshot("green") },
    };
  }

  async close(): Promise<void> {}

  async #test(text: string): Promise<void> {
    const candidate = `${this.#config.configFile}.candidate`;
    await writeFileAtomic(candidate, text, 0o644);
    try {
      await this.#control.test(candidate);
    } finally {
      await rm(candidate, { force: true });
    }
  }

  /** Probes on fresh connections (which new workers accept) until nginx answers with `generation`. */
  async #verify(
    spec: ServiceSpec,
    generation: number,
    oldWorkersGone: () => Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + this.#config.verifyTimeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      last = await this.#probe(spec).catch((err: Error) => err.message);
      if (last === String(generation)) {
        if (await oldWorkersGone()) return;
        last = "old workers still accept connections";
      }
      await delay(PROBE_EVERY_MS);
    }
    throw new Error(
      `nginx did not serve generation ${generation} within ${this.#config.verifyTimeoutMs} ms (last probe: ${last})`,
    );
  }

  /** The old workers (previous configuration) count as the drained color's in-flight work. */
  async #drainReports(): Promise<ServiceRuntimeStatus["drains"]> {
    const old = this.#drains.waiting
      ? await this.#pidFile()
          .then(shuttingDownWorkers)
          .catch(() => 0)
      : 0;
    return this.#drains.reports(() => old);
  }

  /** The main config's `pid` file (nginx's compiled-in default otherwise). */
  async #pidFile(): Promise<string> {
    const main = await readFile(this.#config.mainConfig, "utf8");
    const path = /^\s*pid\s+([^;\s]+)\s*;/m.exec(main)?.[1] ?? "/run/nginx.pid";
    return isAbsolute(path) ? path : resolve(this.#config.prefix ?? "/usr/share/nginx", path);
  }

  #probe(spec: ServiceSpec): Promise<string> {
    const { host, port } = splitHostPort(this.#config.listen);
    const target = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
    const route = spec.routes.find((r) => r.host);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: target,
          port,
          path: GENERATION_PATH,
          agent: false,
          headers: route?.host ? { host: route.host.replace(/^\*\./, "probe.") } : {},
          timeout: 2_000,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            body += d;
          });
          res.on("end", () => resolve(res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}`));
        },
      );
      req.on("timeout", () => req.destroy(new Error("probe timed out")));
      req.on("error", reject);
      req.end();
    });
  }

  async #step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw this.#failure(what, err);
    }
  }

  #failure(what: string, err: unknown): TealError {
    return new TealError(
      "ROUTER_FAILED",
      `nginx router of ${this.#service}: ${what}: ${(err as Error).message}`,
      {
        cause: err,
        details: { service: this.#service },
      },
    );
  }
}
