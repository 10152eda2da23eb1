/**
 * The one writer of deployment records in this process: creates them, appends events, moves
 * phases and outcomes, and tells followers (the API's event stream) about every change. Writes
 * to one record are queued, so that events from the runbook, from crashing instances and from
 * timers never race each other.
 */

import { EventEmitter } from "node:events";
import type { Clock } from "../domain/clock.ts";
import {
  type Deployment,
  type DeploymentEvent,
  type DeploymentEventType,
  isFinished,
  withEvent,
} from "../domain/deployment.ts";
import { TealError } from "../domain/errors.ts";
import type { DeploymentRepository, TrackedDeployment } from "./deployment-repository.ts";

export type FeedItem =
  | { readonly kind: "event"; readonly event: DeploymentEvent; readonly deployment: Deployment }
  | { readonly kind: "end"; readonly deployment: Deployment };

interface Entry {
  tracked: TrackedDeployment;
  queue: Promise<unknown>;
}

export class DeploymentLog {
  readonly #repository: DeploymentRepository;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Promise<Entry>>();
  readonly #feed = new EventEmitter();

  constructor(repository: DeploymentRepository, clock: Clock) {
    this.#repository = repository;
    this.#clock = clock;
    this.#feed.setMaxListeners(0);
  }

  get repository(): DeploymentRepository {
    return this.#repository;
  }

  now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  async create(draft: Omit<Deployment, "seq" | "events" | "startedAt">, first: string): Promise<Deployment> {
    const startedAt = this.now();
    const event: DeploymentEvent = {
      at: startedAt,
      type: "phase",
      message: first,
      actor: draft.actor,
      data: { phase: draft.phase },
    };
    const tracked = await this.#repository.create({ ...draft, startedAt, events: [event] });
    this.#entries.set(
      keyOf(tracked.value.service, tracked.value.seq),
      Promise.resolve({ tracked, queue: Promise.resolve() }),
    );
    return tracked.value;
  }

  /** Appends an event (and applies an optional change to the record) as one write. */
  append(
    service: string,
    seq: number,
    type: DeploymentEventType,
    message: string,
    options: { actor?: string; data?: Record<string, unknown>; change?: (d: Deployment) => Deployment } = {},
  ): Promise<Deployment> {
    return this.#write(service, seq, (d) => {
      const event: DeploymentEvent = {
        at: this.now(),
        type,
        message,
        actor: options.actor ?? "teal",
        ...(options.data ? { data: options.data } : {}),
      };
      const next = withEvent(options.change ? options.change(d) : d, event);
      return { next, event };
    });
  }

  /** Changes the record without an event (e.g. the rollout's latest analysis values). */
  update(service: string, seq: number, change: (d: Deployment) => Deployment): Promise<Deployment> {
    return this.#write(service, seq, (d) => ({ next: change(d), event: undefined }));
  }

  /** Streams what happens to one deployment from now on; returns the unsubscribe function. */
  follow(service: string, seq: number, listener: (item: FeedItem) => void): () => void {
    const key = keyOf(service, seq);
    this.#feed.on(key, listener);
    return () => this.#feed.off(key, listener);
  }

  /** Streams what happens to every deployment of every service (the dashboard's chart markers). */
  followAll(listener: (item: FeedItem) => void): () => void {
    this.#feed.on(ALL, listener);
    return () => this.#feed.off(ALL, listener);
  }

  async #write(
    service: string,
    seq: number,
    build: (d: Deployment) => { next: Deployment; event: DeploymentEvent | undefined },
  ): Promise<Deployment> {
    const key = keyOf(service, seq);
    const entry = await this.#entry(service, seq);
    const run = async (): Promise<Deployment> => {
      const wasFinished = isFinished(entry.tracked.value);
      const { next, event } = build(entry.tracked.value);
      entry.tracked = await this.#repository.update(entry.tracked, next);
      const deployment = entry.tracked.value;
      // "end" once, when it finishes; later notes (a scale-down, a rollback of it) are events only.
      const ended = !wasFinished && isFinished(deployment);
      for (const channel of [key, ALL]) {
        if (event) this.#feed.emit(channel, { kind: "event", event, deployment } satisfies FeedItem);
        if (ended) this.#feed.emit(channel, { kind: "end", deployment } satisfies FeedItem);
      }
      return deployment;
    };
    const result = entry.queue.then(run);
    entry.queue = result.catch(() => {});
    return result;
  }

  /** One cached entry per record, created once even when two writes race to load it. */
  #entry(service: string, seq: number): Promise<Entry> {
    const key = keyOf(service, seq);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = this.#repository.get(service, seq).then((tracked) => {
        if (!tracked) throw new TealError("NOT_FOUND", `no deployment #${seq} of ${service}`);
        return { tracked, queue: Promise.resolve() as Promise<unknown> };
      });
      entry.catch(() => this.#entries.delete(key));
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

const keyOf = (service: string, seq: number) => `${service}#${seq}`;
const ALL = "*";
