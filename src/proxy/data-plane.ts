/**
 * The data plane: the HTTP listener, the route table and the services. The control plane drives
 * it only through `apply(spec)`; a switch is one spec with a higher generation. Everything a
 * request reads (table, service routing) is replaced by reference, so each request sees one
 * consistent world and a switch is atomic for every request that starts after it. A service
 * whose spec is the very object in force is left alone, and the route table is rebuilt only
 * when routes change: a switch of one service among 1,000 touches that one.
 */

import type { AddressInfo, Socket } from "node:net";
import { AddressList } from "../config/address-list.ts";
import { splitHostPort } from "../config/listen-address.ts";
import { COLORS } from "../domain/color.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ProxySettings, ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import { chooseColor } from "./choose-color.ts";
import { type Client, clientOf } from "./client-address.ts";
import { ClientLimit } from "./client-limit.ts";
import { maxClientConnections } from "./descriptor-limit.ts";
import type { Endpoint } from "./endpoint.ts";
import { EndpointRegistry } from "./endpoint-registry.ts";
import { type AccessEntry, Exchange, type ExchangeEnv } from "./exchange.ts";
import { upstreamHeaders } from "./headers.ts";
import type { ClientRequest } from "./http1/request.ts";
import type { ClientResponse } from "./http1/response.ts";
import { Http1Server } from "./http1/server.ts";
import { sendProxyError } from "./responses.ts";
import { type RouteMatch, RouteTable } from "./route-table.ts";
import { ServiceTarget } from "./service-target.ts";
import { requestHead, UpgradeTunnel } from "./upgrade-tunnel.ts";
import type { UpstreamRequest } from "./upstream-pool.ts";

export interface DataPlaneEvents {
  readonly accessLog?: (entry: AccessEntry) => void;
  readonly drained?: (service: string, report: DrainReport) => void;
  readonly clientError?: (code: string, message: string) => void;
  /** Connections could not be accepted (`refused` since the last call; called at most once a second). */
  readonly acceptError?: (err: Error, refused: number) => void;
  /** A bug in teal while handling one request (answered 502; the proxy keeps running). */
  readonly internalError?: (err: unknown) => void;
  /** Something in the traffic shows a risky setup (logged once per process, not per request). */
  readonly warning?: (message: string) => void;
}

export class DataPlane {
  readonly #settings: ProxySettings;
  readonly #events: DataPlaneEvents;
  readonly #trusted: AddressList;
  readonly #env: ExchangeEnv;
  readonly #services = new Map<string, ServiceTarget>();
  /** Upstream pools, one per address, shared by the services that list it. */
  readonly #endpoints: EndpointRegistry;
  #table = new RouteTable([]);
  #generation = -1;
  #server: Http1Server | undefined;
  #warnedUntrustedProxy = false;
  /** Each service's last runtime view, handed out again while it stays the same. */
  readonly #statusOf = new WeakMap<ServiceTarget, ServiceRuntimeStatus>();
  #stats = { acceptErrors: 0, headTimeouts: 0, bodyTimeouts: 0, sendTimeouts: 0 };
  /** Accept errors not logged yet, and when the last were (a full fd table refuses in bursts). */
  #unloggedRefusals = 0;
  #refusalLoggedAt = 0;

  constructor(settings: ProxySettings, events: DataPlaneEvents = {}) {
    this.#settings = settings;
    this.#events = events;
    this.#trusted = new AddressList(settings.trustedProxies);
    this.#endpoints = new EndpointRegistry(settings);
    this.#env = {
      requestIdHeader: settings.requestIdHeader,
      accessLog: settings.accessLog ? events.accessLog : undefined,
      requestBufferBytes: settings.requestBufferBytes,
      clientLimit: new ClientLimit(settings.clientRequests, this.#trusted),
      internalError: (err) => this.#events.internalError?.(err),
    };
  }

  get generation(): number {
    return this.#generation;
  }

  /** Installs a spec; a spec older than the current one is ignored. Returns the generation in force. */
  apply(spec: DataPlaneSpec): number {
    if (spec.generation <= this.#generation) return this.#generation;
    const dropped: Endpoint[] = [];
    const next = new Map<string, ServiceTarget>();
    let routesChanged = spec.services.length !== this.#services.size;
    for (const s of spec.services) {
      const existing = this.#services.get(s.name);
      if (existing === undefined) {
        routesChanged = true;
        next.set(s.name, new ServiceTarget(s, this.#endpoints, (name, r) => this.#events.drained?.(name, r)));
        continue;
      }
      if (existing.spec !== s) {
        if (!sameRoutes(existing.spec, s)) routesChanged = true;
        dropped.push(...existing.update(s));
      }
      next.set(s.name, existing);
    }
    for (const [name, old] of this.#services) {
      if (!next.has(name)) dropped.push(...old.retire());
    }
    if (routesChanged) {
      this.#table = new RouteTable(
        spec.services.map((s) => ({ target: next.get(s.name)!, routes: s.routes })),
      );
      this.#services.clear();
      for (const [k, v] of next) this.#services.set(k, v);
    }
    this.#generation = spec.generation;
    // Released only now: an address one service let go of and another took keeps its pool.
    for (const endpoint of dropped) if (this.#endpoints.release(endpoint)) void endpoint.close();
    return this.#generation;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = splitHostPort(this.#settings.listen);
    const { timeouts } = this.#settings;
    const server = new Http1Server(
      {
        maxHeaderBytes: this.#settings.maxHeaderBytes,
        keepAliveTimeoutMs: timeouts.clientKeepAliveMs,
        headersTimeoutMs: timeouts.clientHeadersMs,
        bodyTimeoutMs: timeouts.clientBodyMs,
        sendTimeoutMs: timeouts.clientSendMs,
        maxConnections: maxClientConnections(),
      },
      {
        request: this.#onRequest,
        upgrade: this.#onUpgrade,
        clientError: this.#onClientError,
        acceptError: this.#onAcceptError,
        internalError: (err) => this.#events.internalError?.(err),
      },
    );
    this.#server = server;
    return server.listen(host, port);
  }

  /** Stops accepting; lets in-flight requests finish for up to graceMs; then cuts the rest. */
  async close(graceMs = 10_000): Promise<void> {
    for (const s of this.#services.values()) s.gate.shedAll();
    await this.#server?.close(graceMs);
    await Promise.all(this.#endpoints.all().map((e) => e.destroy()));
  }

  listenerStats(): ListenerStats {
    return { ...this.#stats };
  }

  readonly #onClientError = (code: string, message: string): void => {
    if (code === "ERR_HTTP_REQUEST_TIMEOUT") this.#stats.headTimeouts++;
    else if (code === "TEAL_BODY_TIMEOUT") this.#stats.bodyTimeouts++;
    else if (code === "TEAL_SEND_TIMEOUT") this.#stats.sendTimeouts++;
    this.#events.clientError?.(code, message);
  };

  readonly #onAcceptError = (err: Error): void => {
    this.#stats.acceptErrors++;
    this.#unloggedRefusals++;
    const now = Date.now();
    if (now - this.#refusalLoggedAt < 1000) return;
    this.#refusalLoggedAt = now;
    const refused = this.#unloggedRefusals;
    this.#unloggedRefusals = 0;
    this.#events.acceptError?.(err, refused);
  };

  /**
   * Every service's runtime view. A service whose view has not changed since the last call gets
   * the very same object back (only its counters' snapshot identity and a few numbers are
   * compared): readers find what changed by identity, and an idle proxy with 1,000 services
   * builds nothing once a second (its `generation` is the one in force when it last changed).
   */
  status(): ServiceRuntimeStatus[] {
    return [...this.#services.values()].map((s) => {
      const blue = s.stats.blue.snapshot(s.inFlight.blue.size);
      const green = s.stats.green.snapshot(s.inFlight.green.size);
      const last = this.#statusOf.get(s);
      if (
        last !== undefined &&
        last.stats.blue === blue &&
        last.stats.green === green &&
        last.held === s.gate.size &&
        last.drains.length === 0 &&
        s.drains.size === 0 &&
        sameEndpointStatus(last.endpoints, s)
      ) {
        return last;
      }
      const status: ServiceRuntimeStatus = {
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
        stats: { blue, green },
      };
      this.#statusOf.set(s, status);
      return status;
    });
  }

  /** A bug in teal answers 502 and is logged; it never takes the proxy down with it. */
  readonly #onRequest = (req: ClientRequest, res: ClientResponse): void => {
    try {
      this.#route(req, res);
    } catch (err) {
      this.#events.internalError?.(err);
      sendProxyError(res, 502, "internal_error", "teal failed to handle this request; see its log");
    }
  };

  #route(req: ClientRequest, res: ClientResponse): void {
    const url = req.url;
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
          res.listener = undefined;
          this.#onRequest(req, res);
        },
        () =>
          sendProxyError(res, 503, "paused_too_long", `${service.name} is paused and did not resume in time`),
      );
      res.listener = { clientClosed: cancel, clientDrained: () => {} };
      return;
    }
    this.#forward(req, res, match);
  }

  #forward(req: ClientRequest, res: ClientResponse, match: RouteMatch): void {
    const { service } = match;
    const client = this.#client(req);
    if (!client.trusted && !this.#warnedUntrustedProxy) this.#checkUntrustedProxy(req, service, client.peer);
    const choice = chooseColor(service, req.headers, client.overrideFrom);
    const { headers, requestId } = this.#upstreamHeaders(req, client, false);
    if (choice.newStickyKey !== undefined) {
      res.addHeader(
        "set-cookie",
        `${service.policy.stickyCookie}=${choice.newStickyKey}; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax`,
      );
    }
    const options: UpstreamRequest = {
      method: req.method,
      path: stripPath(req.url, match.strip),
      headers,
      body: req.body,
    };
    new Exchange(
      req,
      res,
      service,
      choice.color,
      choice.reason === "override",
      options,
      requestId,
      client.address,
      this.#env,
    ).start();
  }

  /** Who sent the request: its peer, and the real client behind a trusted proxy. */
  #client(req: ClientRequest): Client {
    // Repeated X-Forwarded-For lines arrive joined by ", " (ClientRequest.headers), in order.
    const forwardedFor = req.headers["x-forwarded-for"] as string | undefined;
    return clientOf(req.remoteAddress ?? "", forwardedFor, this.#trusted);
  }

  /**
   * X-Forwarded-For from a peer that is not trusted means a proxy teal does not know: when the
   * override admits that peer, it admits everyone behind it. Said once, with the fix.
   */
  #checkUntrustedProxy(req: ClientRequest, service: ServiceTarget, peer: string): void {
    const { policy } = service;
    if (policy.overrideHeader === undefined || req.headers["x-forwarded-for"] === undefined) return;
    if (!policy.overrideFrom.has(peer)) return;
    this.#warnedUntrustedProxy = true;
    this.#events.warning?.(
      `requests with X-Forwarded-For arrive from ${peer}, which is not in proxy.trustedProxies but is admitted by services.${service.name}.override.allowFrom: if ${peer} is a proxy, anyone behind it can pin a color with ${policy.overrideHeader}. Add it to proxy.trustedProxies (then allowFrom is matched against the real client), or narrow allowFrom`,
    );
  }

  #upstreamHeaders(
    req: ClientRequest,
    client: Client,
    keepUpgrade: boolean,
  ): { headers: string[]; requestId: string } {
    return upstreamHeaders(req.rawHeaders, {
      peer: client.peer,
      clientIp: client.address,
      proto: "http", // the proxy's listener is plain HTTP
      trusted: client.trusted,
      requestIdHeader: this.#settings.requestIdHeader,
      keepUpgrade,
    });
  }

  readonly #onUpgrade = (req: ClientRequest, socket: Socket, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    try {
      this.#upgrade(req, socket, head);
    } catch (err) {
      this.#events.internalError?.(err);
      socket.destroy();
    }
  };

  #upgrade(req: ClientRequest, socket: Socket, head: Buffer): void {
    const url = req.url;
    const match = this.#table.match(req.headers.host, url);
    if (!match || match.service.routing.maintenance || match.service.routing.paused) {
      const status = match ? "503 Service Unavailable" : "404 Not Found";
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    const client = this.#client(req);
    if (!client.trusted && !this.#warnedUntrustedProxy)
      this.#checkUntrustedProxy(req, match.service, client.peer);
    const choice = chooseColor(match.service, req.headers, client.overrideFrom);
    const { headers } = this.#upstreamHeaders(req, client, true);
    const tunnel = new UpgradeTunnel(socket, match.service, choice.color, head, this.#settings.timeouts);
    tunnel.start(requestHead(req.method, stripPath(url, match.strip), headers));
  }
}

function sameRoutes(a: ServiceSpec, b: ServiceSpec): boolean {
  return a.routes === b.routes || JSON.stringify(a.routes) === JSON.stringify(b.routes);
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

/** Whether a service's endpoints (list, health, failure counts) are still those of `last`. */
function sameEndpointStatus(last: ServiceRuntimeStatus["endpoints"], s: ServiceTarget): boolean {
  let i = 0;
  for (const color of COLORS) {
    for (const e of s.groups[color].endpoints) {
      const l = last[i++];
      if (
        l === undefined ||
        l.color !== color ||
        l.url !== e.url ||
        l.healthy !== e.healthy ||
        l.consecutiveFailures !== e.consecutiveFailures
      ) {
        return false;
      }
    }
  }
  return i === last.length;
}
