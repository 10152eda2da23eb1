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
import { TealError } from "../domain/errors.ts";
import type { ListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ProxySettings, ServiceSpec } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import { HTTP2_DEFAULTS } from "../traffic/tls.ts";
import { chooseColor } from "./choose-color.ts";
import { type Client, clientOf } from "./client-address.ts";
import { ClientLimit } from "./client-limit.ts";
import { maxClientConnections } from "./descriptor-limit.ts";
import type { Endpoint } from "./endpoint.ts";
import { EndpointRegistry } from "./endpoint-registry.ts";
import type {
  ProxyRequest as ClientRequest,
  ProxyResponse as ClientResponse,
  ProxyEngine,
  ProxyServer,
  ServerHandlers,
  SocketHandle,
  UpstreamRequest,
} from "./engine.ts";
import { selectEngine, tlsEngine } from "./engines.ts";
import { type AccessEntry, Exchange, type ExchangeEnv } from "./exchange.ts";
import { upstreamHeaders } from "./headers.ts";
import { sendProxyError } from "./responses.ts";
import { type RouteMatch, RouteTable } from "./route-table.ts";
import { ServiceTarget } from "./service-target.ts";
import { alpnCallback } from "./tls/alpn.ts";
import { AlpnChallenges } from "./tls/alpn-challenges.ts";
import { Certificates } from "./tls/certificates.ts";
import { hstsValue } from "./tls/settings.ts";
import { requestHead, UpgradeTunnel } from "./upgrade-tunnel.ts";

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
  /** proxy.tls's certificate files changed and were read again (new handshakes get them). */
  readonly certificatesReloaded?: () => void;
}

const CHALLENGE_PATH = "/.well-known/acme-challenge/";

/** The listening sockets' handles: the plain listener's and proxy.tls's (when configured). */
export interface ListenSockets {
  readonly plain: SocketHandle;
  readonly tls?: SocketHandle | undefined;
}

/** Which listener a request came in on. */
type Proto = "http" | "https";

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
  /** The services of the spec in force, in its order (what #updateInPlace compares with). */
  #applied: readonly ServiceSpec[] = [];
  readonly #engine: ProxyEngine;
  #server: ProxyServer | undefined;
  #tlsServer: ProxyServer | undefined;
  #certificates: Certificates | undefined;
  #tlsAddress: AddressInfo | undefined;
  /** ACME HTTP-01: key authorizations by token, answered on the plain listener (acme/). */
  readonly #challenges = new Map<string, string>();
  /** ACME TLS-ALPN-01 challenge certificates (with proxy.tls.acme.challenge tls-alpn-01 only). */
  readonly #alpn: AlpnChallenges | undefined;
  /** Certificates provided in memory (ACME), by host: kept to hand to the listener it opens. */
  readonly #provided = new Map<string, { cert: string; key: string }>();
  readonly #hsts: string | undefined;
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
    // h2c needs node:http2, which the fast engine cannot hand a connection to (config schema).
    this.#engine = selectEngine(settings.h2c ? "node-http" : (settings.engine ?? "auto"), (message) =>
      events.warning?.(message),
    );
    this.#endpoints = new EndpointRegistry(settings, this.#engine);
    this.#hsts = settings.tls?.hsts ? hstsValue(settings.tls.hsts) : undefined;
    this.#alpn = settings.tls?.acme?.challenge === "tls-alpn-01" ? new AlpnChallenges() : undefined;
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
    const dropped = this.#updateInPlace(spec) ?? this.#rebuild(spec);
    this.#applied = spec.services;
    this.#generation = spec.generation;
    // Released only now: an address one service let go of and another took keeps its pool.
    for (const endpoint of dropped) if (this.#endpoints.release(endpoint)) void endpoint.close();
    return this.#generation;
  }

  /**
   * The usual change (a switch, a split step): the same services in the same order with the same
   * routes, some of them new objects. Those are updated where they are: a pointer comparison per
   * service, no new map of 1,000 names. Undefined when the spec needs a rebuild.
   */
  #updateInPlace(spec: DataPlaneSpec): Endpoint[] | undefined {
    const last = this.#applied;
    if (last.length !== spec.services.length || last.length !== this.#services.size) return undefined;
    const updates: [ServiceTarget, ServiceSpec][] = [];
    for (let i = 0; i < last.length; i++) {
      const s = spec.services[i]!;
      if (last[i] === s) continue;
      const existing = this.#services.get(s.name);
      if (existing === undefined || last[i]!.name !== s.name || !sameRoutes(existing.spec, s))
        return undefined;
      updates.push([existing, s]);
    }
    return updates.flatMap(([target, s]) => target.update(s));
  }

  #rebuild(spec: DataPlaneSpec): Endpoint[] {
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
    return dropped;
  }

  /**
   * Opens the plain listener, then proxy.tls's (if any), whose certificates are read here and
   * watched from now on (CONFIG_INVALID naming the field and the file when one cannot be served).
   * Returns the plain listener's address; the TLS one is `tlsAddress`. `sockets`: listen on these
   * listening sockets instead of the configured addresses (a proxy worker, a takeover).
   */
  async listen(sockets?: ListenSockets): Promise<AddressInfo> {
    const h2c = this.#settings.h2c ? { h2c: this.#settings.tls?.http2 || HTTP2_DEFAULTS } : {};
    this.#server = this.#engine.createServer({ ...this.#serverOptions(), ...h2c }, this.#handlers("http"));
    const address = await this.#server.listen(
      sockets === undefined ? splitHostPort(this.#settings.listen) : { handle: sockets.plain },
    );
    const tls = this.#settings.tls;
    if (tls !== undefined) {
      const certificates = new Certificates(tls);
      for (const [host, pem] of this.#provided) certificates.provide(host, pem.cert, pem.key);
      this.#certificates = certificates;
      certificates.watch({
        reloaded: () => this.#events.certificatesReloaded?.(),
        failed: (err) =>
          this.#events.warning?.(`TLS certificates not reloaded, the ones in force stay: ${err.message}`),
      });
      const at = splitHostPort(tls.listen);
      const serverOptions = this.#serverOptions();
      const handlers = this.#handlers("https");
      // HTTP/1.1 over TLS on the fast engine when the plain listener runs it (README "Performance").
      const http1 = this.#engine.createConnectionServer?.(serverOptions, handlers);
      this.#tlsServer = tlsEngine.createServer(
        {
          ...serverOptions,
          tls: {
            ...(http1 === undefined ? {} : { http1 }),
            // A handshake is part of the request head's time: a client stalling it is cut as slowly.
            options: {
              ...this.#tlsOptions(certificates),
              handshakeTimeout: this.#settings.timeouts.clientHeadersMs,
            },
            attach: (server) => {
              certificates.attach(server);
              this.#alpn?.attach(server);
            },
            http2: tls.http2 ?? HTTP2_DEFAULTS,
          },
        },
        handlers,
      );
      this.#tlsAddress = await this.#tlsServer
        .listen(sockets?.tls === undefined ? at : { handle: sockets.tls })
        .catch((err: NodeJS.ErrnoException) => {
          throw new TealError(
            "LISTEN_FAILED",
            `proxy.tls.listen: ${tls.listen} cannot be listened on (${err.code ?? err.message}); choose another address in the config`,
            { cause: err },
          );
        });
    }
    return address;
  }

  /**
   * Serves this certificate for `host` on the TLS listener from its next handshake (before
   * `listen`: from the first). Throws if the key is not the certificate's.
   */
  provideCertificate(host: string, cert: string, key: string): void {
    this.#certificates?.provide(host, cert, key);
    this.#provided.set(host, { cert, key });
  }

  /**
   * ACME TLS-ALPN-01: serves this challenge certificate to `acme-tls/1` handshakes for `host` on
   * the TLS listener (undefined: stop). Throws without proxy.tls.acme.challenge tls-alpn-01.
   */
  setAlpnChallenge(host: string, pem: { cert: string; key: string } | undefined): void {
    if (this.#alpn === undefined)
      throw new TealError("INVALID_REQUEST", "tls-alpn-01 is not the configured challenge");
    this.#alpn.set(host, pem);
  }

  /**
   * The TLS server's options: the certificates', the one ALPN choice (tls/alpn.ts), and with
   * TLS-ALPN-01 the SNI callback that serves its challenge certificates.
   */
  #tlsOptions(certificates: Certificates) {
    const options = certificates.serverOptions();
    const protocols = this.#settings.tls?.http2 === false ? ["http/1.1"] : ["h2", "http/1.1"];
    const ALPNCallback = alpnCallback(protocols, this.#alpn);
    if (this.#alpn === undefined) return { ...options, ALPNCallback };
    return { ...options, ALPNCallback, SNICallback: this.#alpn.sniCallback(options.SNICallback) };
  }

  /** Answers GET /.well-known/acme-challenge/<token> on the plain listener (undefined: stop). */
  setChallenge(token: string, keyAuthorization: string | undefined): void {
    if (keyAuthorization === undefined) this.#challenges.delete(token);
    else this.#challenges.set(token, keyAuthorization);
  }

  /** The TLS listener's address once it listens (undefined without proxy.tls). */
  get tlsAddress(): AddressInfo | undefined {
    return this.#tlsAddress;
  }

  #serverOptions() {
    const { timeouts } = this.#settings;
    return {
      maxHeaderBytes: this.#settings.maxHeaderBytes,
      keepAliveTimeoutMs: timeouts.clientKeepAliveMs,
      headersTimeoutMs: timeouts.clientHeadersMs,
      bodyTimeoutMs: timeouts.clientBodyMs,
      sendTimeoutMs: timeouts.clientSendMs,
      maxConnections: maxClientConnections(),
    };
  }

  #handlers(proto: Proto): ServerHandlers {
    return {
      request: (req, res) => this.#onRequest(req, res, proto),
      upgrade: (req, socket, head) => this.#onUpgrade(req, socket, head, proto),
      clientError: this.#onClientError,
      acceptError: this.#onAcceptError,
      internalError: (err) => this.#events.internalError?.(err),
    };
  }

  /** The listening sockets once listening: a takeover hands them to a new teal. */
  listeningSockets(): ListenSockets | undefined {
    const plain = this.#server?.handle;
    if (plain === undefined) return undefined;
    return { plain, tls: this.#tlsServer?.handle };
  }

  /**
   * Stops accepting; lets in-flight requests finish for up to graceMs; then cuts the rest.
   * `handedOver`: a new teal accepts on the same sockets now (see ProxyServer.close).
   */
  async close(graceMs = 10_000, handedOver = false): Promise<void> {
    for (const s of this.#services.values()) s.gate.shedAll();
    this.#certificates?.close();
    await Promise.all([
      this.#server?.close(graceMs, handedOver),
      this.#tlsServer?.close(graceMs, handedOver),
    ]);
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
    return [...this.#services.values()].map((s) => this.#viewOf(s));
  }

  /**
   * status(), built `slice` services at a time with a turn of the event loop between: with one
   * proxy process the live sampler's once-a-second read of 1,000 busy services shares this loop
   * with the requests, and in one go it held all of them for its whole length. Each view is one
   * service's state at the moment it is built.
   */
  async statusInSlices(slice = 100): Promise<ServiceRuntimeStatus[]> {
    const services = [...this.#services.values()];
    const views: ServiceRuntimeStatus[] = [];
    for (let i = 0; i < services.length; i++) {
      if (i > 0 && i % slice === 0) await new Promise(setImmediate);
      views.push(this.#viewOf(services[i]!));
    }
    return views;
  }

  #viewOf(s: ServiceTarget): ServiceRuntimeStatus {
    const blue = s.stats.blue.snapshot(s.inFlight.blue.size);
    const green = s.stats.green.snapshot(s.inFlight.green.size);
    const last = this.#statusOf.get(s);
    // With traffic, usually only the counters changed: the rest of the view is handed on as is
    // (1,000 busy services would otherwise make a few thousand objects a second for nothing).
    const drains = last !== undefined && sameDrains(last.drains, s) ? last.drains : undefined;
    const endpoints =
      last !== undefined && sameEndpointStatus(last.endpoints, s) ? last.endpoints : undefined;
    if (
      last !== undefined &&
      last.stats.blue === blue &&
      last.stats.green === green &&
      last.held === s.gate.size &&
      drains !== undefined &&
      endpoints !== undefined
    ) {
      return last;
    }
    const status: ServiceRuntimeStatus = {
      service: s.name,
      generation: this.#generation,
      held: s.gate.size,
      drains: drains ?? s.drainReports(),
      endpoints:
        endpoints ??
        COLORS.flatMap((color) =>
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
  }

  /** A bug in teal answers 502 and is logged; it never takes the proxy down with it. */
  readonly #onRequest = (req: ClientRequest, res: ClientResponse, proto: Proto): void => {
    try {
      this.#route(req, res, proto);
    } catch (err) {
      this.#events.internalError?.(err);
      sendProxyError(res, 502, "internal_error", "teal failed to handle this request; see its log");
    }
  };

  #route(req: ClientRequest, res: ClientResponse, proto: Proto): void {
    const url = req.url;
    if (proto === "https" && this.#hsts !== undefined) res.addHeader("strict-transport-security", this.#hsts);
    // Before routing: the CA asks whichever host it validates, and no service may answer for teal.
    if (proto === "http" && this.#challenges.size > 0 && this.#answerChallenge(req, res)) return;
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
    if (proto === "http" && match.redirectHttps && this.#tlsAddress !== undefined) {
      this.#redirectToHttps(req, res);
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
          this.#onRequest(req, res, proto);
        },
        () =>
          sendProxyError(res, 503, "paused_too_long", `${service.name} is paused and did not resume in time`),
      );
      res.listener = { clientClosed: cancel, clientDrained: () => {} };
      return;
    }
    this.#forward(req, res, match, proto);
  }

  /** The key authorization of a pending ACME order's token; false: not one of teal's tokens. */
  #answerChallenge(req: ClientRequest, res: ClientResponse): boolean {
    if (!req.url.startsWith(CHALLENGE_PATH)) return false;
    const keyAuthorization = this.#challenges.get(req.url.slice(CHALLENGE_PATH.length));
    if (keyAuthorization === undefined) return false;
    req.body?.resume();
    const body = Buffer.from(keyAuthorization);
    res.writeHead(200, "OK", [
      "content-type",
      "text/plain",
      "content-length",
      String(body.length),
      "cache-control",
      "no-store",
    ]);
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }

  /**
   * The same URL on the TLS listener: 301 for GET and HEAD, 308 for the rest (a 301 lets clients
   * turn a POST into a GET; 308 keeps the method and body). The port is left out when it is 443.
   */
  #redirectToHttps(req: ClientRequest, res: ClientResponse): void {
    req.body?.resume();
    const host = hostName(req.headers.host ?? "");
    const port = this.#tlsAddress!.port;
    const location = `https://${host}${port === 443 ? "" : `:${port}`}${req.url}`;
    const get = req.method === "GET" || req.method === "HEAD";
    res.writeHead(get ? 301 : 308, get ? "Moved Permanently" : "Permanent Redirect", [
      "location",
      location,
      "content-length",
      "0",
      "cache-control",
      "no-store",
    ]);
    res.end();
  }

  #forward(req: ClientRequest, res: ClientResponse, match: RouteMatch, proto: Proto): void {
    const { service } = match;
    const client = this.#client(req);
    if (!client.trusted && !this.#warnedUntrustedProxy) this.#checkUntrustedProxy(req, service, client.peer);
    const choice = chooseColor(service, req.headers, client.overrideFrom);
    const { headers, requestId } = this.#upstreamHeaders(req, client, false, proto);
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
    proto: Proto,
  ): { headers: string[]; requestId: string } {
    return upstreamHeaders(req.rawHeaders, {
      peer: client.peer,
      clientIp: client.address,
      proto,
      trusted: client.trusted,
      requestIdHeader: this.#settings.requestIdHeader,
      keepUpgrade,
    });
  }

  readonly #onUpgrade = (req: ClientRequest, socket: Socket, head: Buffer, proto: Proto): void => {
    socket.on("error", () => socket.destroy());
    try {
      this.#upgrade(req, socket, head, proto);
    } catch (err) {
      this.#events.internalError?.(err);
      socket.destroy();
    }
  };

  #upgrade(req: ClientRequest, socket: Socket, head: Buffer, proto: Proto): void {
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
    const { headers } = this.#upstreamHeaders(req, client, true, proto);
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

/** Whether a service's drains are still those of `last` (a drain's report is the same object while it does not change). */
function sameDrains(last: readonly DrainReport[], s: ServiceTarget): boolean {
  if (last.length !== s.drains.size) return false;
  let i = 0;
  for (const drain of s.drains.values()) if (last[i++] !== drain.report()) return false;
  return true;
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

/** The Host header without its port ("[::1]:8080" gives "[::1]"). */
function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}
