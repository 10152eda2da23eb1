/**
 * The leader's side of the agents: it writes each agent node's tasks from what the leader's own
 * slots say each color runs. A color that is starting or running on the leader is a `run` task
 * (the same version, deployment, command, environment and image) on every other agent node; one
 * that is stopping or stopped is a `stop` task. So a deployment's steps on the leader (start the
 * new color, stop it on a failure, scale the old one down after its keep-warm delay) become the
 * same steps on every node, in the order the leader takes them, and a node that joins later gets
 * the tasks for what runs now.
 *
 * A node drained by a quorum deployment (drain()) has the drain on its failed color's task, and
 * the color it serves instead is not stopped there (no `stop` task) while the drain lasts: until
 * a later deployment of the service comes up healthy on it, or the drained color's version is no
 * longer what the leader runs on that color. The drains are read back from tasks/ by a new leader.
 *
 * Only the leader writes tasks, one at a time and only when a task changes. They are plain puts
 * and deletes, not compare-and-swaps, but the store it is given is the leader's FencedStore
 * (leader-fence.ts): each put and delete is refused (NOT_LEADER) once another node leads, so a
 * leader deposed while paused cannot start, stop or remove work on any node.
 */

import type { FleetWait } from "../deploy/fleet-instances.ts";
import type { ServiceUnits } from "../deploy/service-units.ts";
import { COLORS, type Color } from "../domain/color.ts";
import type { ColorSlot } from "../domain/slot.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import {
  type Drain,
  type NodeTask,
  parseTask,
  sameTask,
  splitAgentKey,
  TASKS_PREFIX,
  taskKey,
} from "./agent-records.ts";

/** A drained node of one service: the color that failed there, for which deployment, and the drain. */
interface NodeDrain {
  readonly color: Color;
  readonly deployment: number | null;
  readonly drain: Drain;
}

export interface TaskWriterOptions {
  readonly store: Store;
  readonly units: ServiceUnits;
  /** This server's node name (its own instances are its deployments', not tasks). */
  readonly self: string | undefined;
  /** The live nodes that run an agent. */
  readonly agents: () => readonly string[];
  readonly leads: () => boolean;
  readonly log: Logger;
}

/** The task a color's slot on the leader stands for. */
export function taskOf(slot: ColorSlot): NodeTask {
  const run = slot.state === "starting" || slot.state === "running";
  return {
    action: run ? "run" : "stop",
    deployment: slot.deploymentSeq,
    version: slot.version,
    command: slot.command,
    env: slot.env,
    image: slot.image ?? null,
  };
}

export class TaskWriter {
  readonly #o: TaskWriterOptions;
  /** What tasks/ holds, as this leader last read or wrote it. */
  readonly #written = new Map<string, NodeTask>();
  /** "node/service" -> its drain. */
  readonly #drains = new Map<string, NodeDrain>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: TaskWriterOptions) {
    this.#o = options;
  }

  /** On winning the election: reads tasks/, drops this node's own, and writes every node's tasks. */
  elected(): Promise<void> {
    return this.#serial(async () => {
      const { items } = await this.#o.store.list(TASKS_PREFIX);
      this.#written.clear();
      this.#drains.clear();
      for (const kv of items) {
        const where = splitAgentKey(kv.key, TASKS_PREFIX);
        const task = parseTask(kv.value);
        if (where?.node === this.#o.self) {
          // Its own instances are its deployments' now; an old task must not restart them later.
          await this.#o.store.delete(kv.key);
        } else if (task !== undefined && where !== undefined) {
          this.#written.set(kv.key, task);
          if (task.drained !== undefined)
            this.#drains.set(`${where.node}/${where.service}`, {
              color: where.color,
              deployment: task.deployment,
              drain: task.drained,
            });
        }
      }
      for (const unit of this.#o.units.all()) await this.#reconcile(unit.name, this.#o.agents());
    });
  }

  /** The leader's slots of `service` changed: every agent node's tasks follow. */
  service(service: string): Promise<void> {
    if (!this.#o.leads()) return Promise.resolve();
    return this.#serial(() => this.#reconcile(service, this.#o.agents()));
  }

  /**
   * A deployment of `service` on `color` goes on with a quorum: `wait.failed` are drained (each
   * serving what `serving` says for it), the drain of `wait.healthy` ends; their tasks follow.
   */
  drain(
    service: string,
    color: Color,
    wait: FleetWait,
    serving: (node: string) => Color | null,
  ): Promise<void> {
    if (!this.#o.leads()) return Promise.resolve();
    return this.#serial(async () => {
      const deployment = this.#o.units.find(service)?.slot(color).deploymentSeq ?? null;
      for (const node of wait.healthy) this.#drains.delete(`${node}/${service}`);
      for (const { node, reason } of wait.failed)
        this.#drains.set(`${node}/${service}`, {
          color,
          deployment,
          drain: { serving: serving(node), reason },
        });
      await this.#reconcile(service, this.#o.agents());
    });
  }

  /** A node joined the fleet: it gets the tasks for what runs now. */
  node(node: string): Promise<void> {
    if (!this.#o.leads() || node === this.#o.self) return Promise.resolve();
    return this.#serial(async () => {
      for (const unit of this.#o.units.all()) await this.#reconcile(unit.name, [node]);
    });
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step);
    this.#queue = run.catch((err) =>
      this.#o.log.warn({ err }, "could not write the nodes' tasks; the next change retries"),
    );
    return this.#queue;
  }

  async #reconcile(service: string, nodes: readonly string[]): Promise<void> {
    const unit = this.#o.units.find(service);
    if (unit === undefined || !unit.managed) return;
    for (const node of nodes) {
      if (node === this.#o.self) continue;
      const id = `${node}/${service}`;
      let d = this.#drains.get(id);
      // The drained color now runs another deployment on the leader (or none): the drain is over.
      if (
        d !== undefined &&
        (unit.slot(d.color).deploymentSeq !== d.deployment || taskOf(unit.slot(d.color)).action === "stop")
      ) {
        this.#drains.delete(id);
        d = undefined;
      }
      for (const color of COLORS) {
        const task = taskOf(unit.slot(color));
        if (d?.color === color) await this.#write(node, service, color, { ...task, drained: d.drain });
        // What a drained node serves in the failed color's place keeps running there.
        else if (d?.drain.serving === color && task.action === "stop") continue;
        else await this.#write(node, service, color, task);
      }
    }
  }

  async #write(node: string, service: string, color: Color, task: NodeTask): Promise<void> {
    const key = taskKey(node, service, color);
    const before = this.#written.get(key);
    // Nothing was asked there: nothing to stop.
    if (sameTask(before, task) || (before === undefined && task.action === "stop")) return;
    await this.#o.store.put(key, JSON.stringify(task));
    this.#written.set(key, task);
  }
}
