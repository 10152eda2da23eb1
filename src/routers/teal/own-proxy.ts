/**
 * teal's own proxy, shared by every service it routes, and teal's listener. Each service's
 * TealRouter hands it that service's spec; the applies of one push (issued together, before the
 * next microtask) become ONE `DataPlanePort.apply` of every service's last spec: one atomic swap
 * in the proxy, one message per proxy worker, one generation. Status reads issued together share
 * one read likewise.
 */

import type { DataPlanePort } from "../../control/data-plane-port.ts";
import type { Color } from "../../domain/color.ts";
import { isTealError, TealError } from "../../domain/errors.ts";
import type { ListenerStats } from "../../traffic/listener-stats.ts";
import type { ServiceSpec } from "../../traffic/spec.ts";
import type { DrainReport, ServiceRuntimeStatus } from "../../traffic/status.ts";

interface Batch {
  generation: number;
  readonly done: Promise<void>;
}

export class OwnProxy {
  readonly #port: DataPlanePort;
  /**
   * Each service's last spec, in the order the services first came (the route table keeps it).
   * Unchanged services keep their objects: the proxy and its workers find the changes by identity.
   */
  readonly #specs = new Map<string, ServiceSpec>();
  #batch: Batch | undefined;
  /** Whether the proxy was given a spec: it must have one before it listens. */
  #given = false;
  #read: Promise<ReadonlyMap<string, ServiceRuntimeStatus>> | undefined;

  /** `port`: the proxy, in this process or as cluster workers. */
  constructor(port: DataPlanePort) {
    this.#port = port;
  }

  /**
   * Joins the batch of this push (opened by its first apply); resolves once the proxy has every
   * service of the batch in force, or rejects every member with the same ROUTER_FAILED.
   */
  apply(spec: ServiceSpec, generation: number): Promise<void> {
    this.#specs.set(spec.name, spec);
    const batch = this.#batch ?? this.#open();
    batch.generation = Math.max(batch.generation, generation);
    return batch.done;
  }

  /** The service's view in the proxy (undefined: it has none yet); reads issued together share one. */
  async status(service: string): Promise<ServiceRuntimeStatus | undefined> {
    if (this.#read === undefined) {
      this.#read = this.#port.status().then((views) => new Map(views.map((v) => [v.service, v])));
      // Only callers of this very moment share it: a later caller must see a fresh read.
      queueMicrotask(() => {
        this.#read = undefined;
      });
    }
    return (await this.#read).get(service);
  }

  /** Every view the proxy holds, in one read (the routed data plane's whole status). */
  views(): Promise<ServiceRuntimeStatus[]> {
    return this.#port.status();
  }

  /** The HTTPS listener's address, once it listens (proxy.tls). */
  tlsAddress(): string | undefined {
    return this.#port.tlsAddress?.();
  }

  /** Woken by the proxy's drain events (DataPlanePort.drained), not by reading in a loop. */
  drained(service: string, color: Color, timeoutMs: number): Promise<DrainReport | undefined> {
    return this.#port.drained(service, color, timeoutMs);
  }

  /**
   * Starts serving. With no service of its own (all on nginx or HAProxy) the proxy still listens,
   * answering 404, and gets its first, empty spec here: a proxy worker listens only once it has one.
   */
  async listen(): Promise<string> {
    if (!this.#given) {
      this.#given = true;
      await this.#port.apply({ generation: 0, services: [] });
    }
    return this.#port.listen();
  }

  listenerStats(): Promise<ListenerStats> {
    return this.#port.listenerStats();
  }

  close(): Promise<void> {
    return this.#port.close();
  }

  #open(): Batch {
    const batch: Batch = {
      generation: 0,
      // A microtask later: every apply of the push has joined by then (they are issued in one loop).
      done: Promise.resolve().then(() => this.#flush(batch)),
    };
    this.#batch = batch;
    return batch;
  }

  async #flush(batch: Batch): Promise<void> {
    this.#batch = undefined;
    this.#given = true;
    const { generation } = batch;
    try {
      await this.#port.apply({ generation, services: [...this.#specs.values()] });
    } catch (err) {
      if (isTealError(err)) throw err;
      throw new TealError(
        "ROUTER_FAILED",
        `teal's proxy did not confirm generation ${generation}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}
