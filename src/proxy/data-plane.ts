/**
 * The data plane: the HTTP listener, the route table and the services. The control plane drives
 * it only through `apply(spec)`; a switch is one spec with a higher generation. Everything a
 * request reads (table, service routing) is replaced by reference, so each request sees one
 * consistent world and a switch is atomic for every request that starts after it.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { splitHostPort } from "../config/listen-address.ts";
import { COLORS, type Color } from "../domain/color.ts";
import { AddressList } from "./address-list.ts";
import { chooseColor } from "./choose-color.ts";
import { answerClientError } from "./client-errors.ts";
import type { ColorStatsSnapshot } from "./color-stats.ts";
import type { DrainReport } from "./drain.ts";
import type { Endpoint } from "./endpoint.ts";
import { type AccessEntry, Exchange, type ExchangeEnv } from "./exchange.ts";
import { upstreamHeaders } from "./headers.ts";
import { sendProxyError } from "./responses.ts";
import { type RouteMatch, RouteTable } from "./route-table.ts";
import { ServiceTarget } from "./service-target.ts";
import type { DataPlaneSpec, ProxySettings } from "./spec.ts";
import { requestHead, UpgradeTunnel } from "./upgrade-tunnel.ts";
import type { UpstreamRequest } from "./upstream-pool.ts";

export interface DataPlaneEvents {
  readonly accessLog?: (entry: AccessEntry) => void;
  readonly drained?: (service: string, report: DrainReport) => void;
  readonly clientError?: (code: string, message: string) => void;
  /** A bug in teal while handling one request (answered 502; the proxy keeps running). */
  readonly internalError?: (err: unknown) => void;
}

export interface ServiceRuntimeStatus {
  readonly service: string;
  readonly generation: number;
  readonly held: number;
  readonly drains: DrainReport[];
  readonly endpoints: { color: Color; url: string; healthy: boolean; consecutiveFailures: number }[];
  readonly stats: Record<Color, ColorStatsSnapshot>;
}

export class DataPlane {
  readonly #settings: ProxySettings;
  readonly #events: DataPlaneEvents;
  readonly #trusted: AddressList;
  readonly #env: ExchangeEnv;
  readonly #services = new Map<string, ServiceTarget>();
  #table = new RouteTable([]);
  #generation = -1;
  #server: Server | undefined;

  constructor(settings: ProxySettings, events: DataPlaneEvents = {}) {
    this.#settings = settings;
    this.#events = events;
    this.#trusted = new AddressList(settings.trustForwardedFrom);
    this.#env = {
      requestIdHeader: settings.requestIdHeader,
      accessLog: settings.accessLog ? events.accessLog : undefined,
    };
  }

  get generation(): number {
    return this.#generation;
  }

  /** Installs a spec; a spec older than the current one is ignored. Returns the generation in force. */
  apply(spec: DataPlaneSpec): number {
    if (spec.generation <= this.#generation) return this.#generation;
    const retired: Endpoint[] = [];
    const next = new Map<string, ServiceTarget>();
    for (const s of spec.services) {
      const existing = this.#services.get(s.name);
      if (existing) retired.push(...existing.update(s));
      next.set(
        s.name,
        existing ?? new ServiceTarget(s, this.#settings, (name, r) => this.#events.drained?.(name, r)),
      );
    }
    for (const [name, old] of this.#services) {
      if (!next.has(name)) {
        old.gate.shedAll();
        retired.push(...old.allEndpoints());
      }
    }
    this.#table = new RouteTable(spec.services.map((s) => ({ target: next.get(s.name)!, routes: s.routes })));
    this.#services.clear();
    for (const [k, v] of next) this.#services.set(k, v);
    this.#generation = spec.generation;
    for (const endpoint of retired) void endpoint.close();
    return this.#generation;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = splitHostPort(this.#settings.listen);
    const server = createServer({
      maxHeaderSize: this.#settings.maxHeaderBytes,
      keepAliveTimeout: this.#settings.timeouts.clientKeepAliveMs,
      headersTimeout: this.#settings.timeouts.clientHeadersMs,
      // Long uploads and streams are bounded by the idle timeout upstream, not a total.
      requestTimeout: 0,
    });
    server.on("request", this.#onRequest);
    server.on("upgrade", this.#onUpgrade);
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, this.#events.clientError),
    );
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port, backlog: 4096 }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  /** Stops accepting; lets in-flight requests finish for up to graceMs; then cuts the rest. */
  async close(graceMs = 10_000): Promise<void> {
    const server = this.#server;
    for (const s of this.#services.values()) s.gate.shedAll();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs).unref();
      await closed;
      clearTimeout(timer);
    }
    await Promise.all([...this.#services.values()].flatMap((s) => s.allEndpoints().map((e) => e.destroy())));
  }

  status(): ServiceRuntimeStatus[] {
    return [...this.#services.values()].map((s) => ({
      service: s.name,
      generation: this.#generation,
      held: s.gate.size,
      drains: s.drainReports(),
      endpoints: COLORS.flatMap((color) =>
        s.groups[color].endpoints.map((e) => ({
          color,
          url: e.url,
          healthy: e.healthy,
          consecutiveFailures: e.consecutiveFailures,
        })),
      ),
      stats: {
        blue: s.stats.blue.snapshot(s.inFlight.blue.size),
        green: s.stats.green.snapshot(s.inFlight.green.size),
      },
    }));
  }

  /** A bug in teal answers 502 and is logged; it never takes the proxy down with it. */
  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#route(req, res);
    } catch (err) {
      this.#events.internalError?.(err);
      sendProxyError(res, 502, "internal_error", "teal failed to handle this request; see its log");
    }
  };

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    const match = this.#table.match(req.headers.host, url);
    if (match === undefined) {
      sendProxyError(
        res,
        404,
        "no_route",
        `no service is configured for host "${req.headers.host ?? ""}" and path ${pathOf(url)}`,
      );
      return;
    }
    const { service } = match;
    if (service.routing.maintenance) {
      sendProxyError(
        res,
        503,
        "maintenance",
        `${service.name} is down for maintenance; please try again shortly`,
        {
          "retry-after": "30",
        },
      );
      return;
    }
    if (service.routing.paused) {
      const cancel = service.gate.hold(
        service.policy.pauseTimeoutMs,
        () => {
          res.off("close", cancel);
          this.#onRequest(req, res);
        },
        () =>
          sendProxyError(res, 503, "paused_too_long", `${service.name} is paused and did not resume in time`),
      );
      res.once("close", cancel);
      return;
    }
    this.#forward(req, res, match);
  }

  #forward(req: IncomingMessage, res: ServerResponse, match: RouteMatch): void {
    const { service } = match;
    const remote = req.socket.remoteAddress;
    const choice = chooseColor(service, req.headers, remote);
    const { headers, requestId } = this.#upstreamHeaders(req, false);
    if (choice.newStickyKey !== undefined) {
      res.setHeader(
        "set-cookie",
        `${service.policy.stickyCookie}=${choice.newStickyKey}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`,
      );
    }
    const hasBody =
      req.headers["content-length"] !== undefined
        ? req.headers["content-length"] !== "0"
        : req.headers["transfer-encoding"] !== undefined;
    const options: UpstreamRequest = {
      method: req.method ?? "GET",
      path: stripPath(req.url ?? "/", match.strip),
      headers,
      body: hasBody ? req : null,
    };
    new Exchange(
      req,
      res,
      service,
      choice.color,
      choice.reason === "override",
      options,
      requestId,
      this.#env,
    ).start();
  }

  #upstreamHeaders(req: IncomingMessage, keepUpgrade: boolean): { headers: string[]; requestId: string } {
    const remote = req.socket.remoteAddress;
    return upstreamHeaders(req.rawHeaders, {
      clientIp: remote ?? "",
      proto: (req.socket as Socket & { encrypted?: boolean }).encrypted ? "https" : "http",
      trusted: this.#trusted.has(remote),
      requestIdHeader: this.#settings.requestIdHeader,
      keepUpgrade,
    });
  }

  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    try {
      this.#upgrade(req, socket, head);
    } catch (err) {
      this.#events.internalError?.(err);
      socket.destroy();
    }
  };

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? "/";
    const match = this.#table.match(req.headers.host, url);
    if (!match || match.service.routing.maintenance || match.service.routing.paused) {
      const status = match ? "503 Service Unavailable" : "404 Not Found";
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    const remote = req.socket.remoteAddress;
    const choice = chooseColor(match.service, req.headers, remote);
    const { headers } = this.#upstreamHeaders(req, true);
    const tunnel = new UpgradeTunnel(socket, match.service, choice.color, head, this.#settings.timeouts);
    tunnel.start(requestHead(req.method ?? "GET", stripPath(url, match.strip), headers));
  }
}

function stripPath(url: string, prefix: string): string {
  if (prefix === "") return url;
  const rest = url.slice(prefix.length);
  return rest === "" || rest.startsWith("?") ? `/${rest}` : rest;
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}
