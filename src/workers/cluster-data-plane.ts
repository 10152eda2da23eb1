/**
 * The data plane as N proxy worker processes sharing the listening sockets, which this process
 * binds and each worker accepts on (listen-socket.ts), so they stay open while workers come and
 * go and a takeover can hand them on. Workers are plain child processes, not node:cluster's: a
 * cluster worker's listen on a descriptor goes through its primary, which would accept for it.
 * A switch is sent to every worker and acknowledged by each before `apply` resolves, so it is
 * in force for every new request, whichever worker accepts it. A worker gets the whole spec once,
 * when it starts, and from then on only what changed (SpecChange). A worker that dies is replaced
 * and starts from the latest spec.
 */

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DrainWaiters } from "../control/drain-wait.ts";
import { type Clock, systemClock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { Logger } from "../log/logger.ts";
import type { ListenSockets } from "../proxy/data-plane.ts";
import { type ListenerStats, sumListenerStats } from "../traffic/listener-stats.ts";
import type { DataPlaneSpec, ProxySettings } from "../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../traffic/status.ts";
import { HeldDrains } from "./held-drains.ts";
import { type BoundSockets, bindListenSockets, ownedSockets } from "./listen-socket.ts";
import { MergedStatus } from "./merged-status.ts";
import { type FromWorker, SETTINGS_ENV, type SocketMessage, STALE, type ToWorker } from "./messages.ts";
import type { ProxyHost } from "./proxy-host.ts";
import { diffSpecs, type SpecChange } from "./spec-change.ts";
import type { StatusDelta } from "./status-log.ts";
import { WorkerCertificates } from "./worker-certificates.ts";

const REPLY_TIMEOUT_MS = 10_000;
type Worker = ChildProcess;
type Pending = { worker: Worker; resolve: (data: unknown) => void; timer: NodeJS.Timeout };

export class ClusterDataPlane implements ProxyHost {
  readonly #settings: ProxySettings;
  readonly #count: number;
  readonly #log: Logger;
  readonly #onDrained: ((service: string, report: DrainReport) => void) | undefined;
  readonly #drains: DrainWaiters;
  readonly #workers = new Set<Worker>();
  readonly #pending = new Map<number, Pending>();
  /**
   * The last spec sent to each worker that has been given one, listening or still starting: a
   * starting worker gets every change too, so none comes up serving an older spec.
   */
  readonly #sent = new Map<Worker, DataPlaneSpec>();
  /** What the workers reported; each read asks them only for what changed since. */
  readonly #status = new MergedStatus<Worker>();
  #spec: DataPlaneSpec | undefined;
  /** ACME's certificates and challenges, in every worker (acme/orderer.ts runs in this process). */
  readonly #acme = new WorkerCertificates<Worker>((worker, message) => this.#request(worker, message));
  /** proxy.tls's address as the workers report it (they share the listening socket). */
  #tlsAddress: string | undefined;
  #nextId = 1;
  #closing = false;
  /** Drain reports that come with an apply's acknowledgements, handed on after its caller answered. */
  readonly #heldDrains = new HeldDrains((service, report) => {
    this.#onDrained?.(service, report);
    this.#drains.notify(service, report);
  });
  /** Handed over by the teal this one takes over from; else bound by listen(). */
  readonly #inherited: ListenSockets | undefined;
  #sockets: BoundSockets | undefined;
  #exec: { readonly path: string; readonly execArgv: string[] } | undefined;

  constructor(
    settings: ProxySettings,
    count: number,
    log: Logger,
    onDrained?: (service: string, report: DrainReport) => void,
    clock: Clock = systemClock,
    inherited?: ListenSockets,
  ) {
    this.#inherited = inherited;
    this.#settings = settings;
    this.#count = count;
    this.#log = log;
    this.#onDrained = onDrained;
    this.#drains = new DrainWaiters(clock, () => this.status());
  }

  apply(spec: DataPlaneSpec): Promise<void> {
    return this.#heldDrains.during(() => this.#apply(spec));
  }

  async #apply(spec: DataPlaneSpec): Promise<void> {
    this.#spec = spec;
    // Workers are normally at the same spec: one diff serves them all.
    const changes = new Map<DataPlaneSpec, SpecChange>();
    await Promise.all(
      [...this.#sent].map(async ([worker, from]) => {
        let change = changes.get(from);
        if (change === undefined) {
          change = diffSpecs(from, spec);
          changes.set(from, change);
        }
        this.#sent.set(worker, spec);
        const reply = await this.#request(worker, { t: "update", id: 0, change });
        // The worker lost track (it missed a change): it gets the whole spec.
        if (reply === STALE) await this.#request(worker, { t: "apply", id: 0, spec });
      }),
    );
  }

  /** ACME: every worker serves this certificate for `host` from its next handshake. */
  provideCertificate(host: string, cert: string, key: string): Promise<void> {
    return this.#acme.provideCertificate(host, cert, key);
  }

  /** ACME HTTP-01: every worker answers this token on the plain listener (undefined: stop). */
  setChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    return this.#acme.setChallenge(token, keyAuthorization);
  }

  /** ACME TLS-ALPN-01: every worker serves this challenge certificate to `acme-tls/1` handshakes for `host`. */
  setAlpnChallenge(host: string, pem: { cert: string; key: string } | undefined): Promise<void> {
    return this.#acme.setAlpnChallenge(host, pem);
  }

  async listen(): Promise<string> {
    this.#sockets =
      this.#inherited === undefined ? await bindListenSockets(this.#settings) : ownedSockets(this.#inherited);
    const fromSource = import.meta.url.endsWith(".ts");
    this.#exec = {
      path: fileURLToPath(new URL(`./proxy-worker${fromSource ? ".ts" : ".js"}`, import.meta.url)),
      // Running from TypeScript sources: workers need the same loader, found from here, not the cwd.
      execArgv:
        fromSource && !process.execArgv.some((a) => a.includes("tsx"))
          ? [...process.execArgv, "--import", import.meta.resolve("tsx")]
          : process.execArgv,
    };
    const addresses = await Promise.all(Array.from({ length: this.#count }, () => this.#fork()));
    return addresses[0]!;
  }

  /** The listening workers' process ids. */
  workerPids(): number[] {
    return [...this.#workers].flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
  }

  listeningSockets(): ListenSockets | undefined {
    return this.#sockets?.sockets;
  }

  tlsAddress(): string | undefined {
    return this.#tlsAddress;
  }

  /** An unchanged service's view is the same object as in the previous read. */
  async status(): Promise<ServiceRuntimeStatus[]> {
    await Promise.all(
      [...this.#workers].map(async (w) => {
        const delta = await this.#request(w, { t: "status", id: 0, since: this.#status.cursorOf(w) });
        // Applied as each arrives (a worker answers in order): undefined means it went meanwhile.
        if (delta !== undefined && this.#workers.has(w)) this.#status.add(w, delta as StatusDelta);
      }),
    );
    return this.#status.list();
  }

  /** Service views received from workers so far: an idle read adds none. */
  get statusViewsReceived(): number {
    return this.#status.received;
  }

  /** Each worker reports the end of its share of a drain; the merged status says when all have. */
  drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    return this.#drains.wait(service, color, timeoutMs);
  }

  async listenerStats(): Promise<ListenerStats> {
    const parts = await Promise.all(
      [...this.#workers].map((w) => this.#request(w, { t: "listener", id: 0 })),
    );
    return sumListenerStats(parts.filter((p) => p !== undefined) as ListenerStats[]);
  }

  close(graceMs = 10_000): Promise<void> {
    return this.#close(graceMs, false);
  }

  handOff(graceMs = 10_000): Promise<void> {
    return this.#close(graceMs, true);
  }

  async #close(graceMs: number, handedOver: boolean): Promise<void> {
    this.#closing = true;
    await Promise.allSettled(
      [...this.#workers].map((w) => this.#request(w, { t: "close", id: 0, graceMs, handedOver })),
    );
    for (const w of this.#workers) w.kill();
    this.#sockets?.close();
    this.#sockets = undefined;
  }

  /** Forks one worker; resolves with its address once it listens with the latest spec. */
  #fork(): Promise<string> {
    const { sockets } = this.#sockets!;
    const exec = this.#exec!;
    const worker = fork(exec.path, [], {
      execArgv: exec.execArgv,
      env: { ...process.env, [SETTINGS_ENV]: JSON.stringify(this.#settings) },
    });
    // Ahead of every other message (IPC keeps their order): the worker listens on these.
    worker.send({ t: "socket", listener: "plain" } satisfies SocketMessage, sockets.plain as never);
    if (sockets.tls !== undefined)
      worker.send({ t: "socket", listener: "tls" } satisfies SocketMessage, sockets.tls as never);
    // A message to a worker that just exited: its exit handler below deals with it.
    worker.on("error", (err) =>
      this.#log.warn({ pid: worker.pid, err: err.message }, "proxy worker IPC error"),
    );
    return new Promise((resolve, reject) => {
      worker.on("message", (message: FromWorker) => {
        if (message.t === "ready") {
          // Certificates and challenges before the spec, which makes the worker listen.
          this.#acme.join(worker);
          if (this.#spec) {
            this.#sent.set(worker, this.#spec);
            worker.send({ t: "apply", id: 0, spec: this.#spec } satisfies ToWorker);
          }
        } else if (message.t === "listening") {
          this.#workers.add(worker);
          this.#tlsAddress ??= message.tls;
          resolve(message.address);
        } else if (message.t === "reply") this.#settle(message.id, message.data);
        else if (message.t === "drained") this.#heldDrains.drained(message.service, message.report);
      });
      worker.once("exit", (code, signal) => {
        const known = this.#workers.delete(worker);
        this.#sent.delete(worker);
        this.#acme.leave(worker);
        this.#status.drop(worker);
        // Its replacement starts from the latest spec, so nobody needs to wait for this one.
        for (const [id, p] of this.#pending) if (p.worker === worker) this.#settle(id, undefined);
        if (!known)
          reject(new Error(`proxy worker exited before listening (code ${code}, signal ${signal})`));
        if (this.#closing || !known) return;
        this.#log.error({ pid: worker.pid, code, signal }, "proxy worker died; starting a new one");
        this.#fork().catch((err: Error) =>
          this.#log.error({ err: err.message }, "could not restart proxy worker"),
        );
      });
    });
  }

  #request(worker: Worker, message: ToWorker): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`proxy worker ${worker.pid} did not answer "${message.t}"`));
      }, REPLY_TIMEOUT_MS);
      this.#pending.set(id, { worker, resolve, timer });
      worker.send({ ...message, id });
    });
  }

  #settle(id: number, data: unknown): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    pending.resolve(data);
  }
}
