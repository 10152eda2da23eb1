/**
 * A `teal server` on etcd as a member of the fleet: it follows `nodes/` to know which revision
 * every live node serves (so its routing writes can wait for them), follows `routing/` to put
 * what other servers write in force in its own proxy, and with `--node NAME` it is a node itself,
 * publishing the revision its own proxy serves at `nodes/NAME`, and it runs an agent: the
 * node's own instances, from the tasks the leader writes (node-agent.ts). It follows
 * `instances/` to know what every node runs; while it leads, it writes the other nodes' tasks
 * from its own slots (task-writer.ts) and its deployments wait for their reports.
 */

import { hostname } from "node:os";
import type { LeaderView } from "../api/leader-gate.ts";
import type { DeployContext } from "../deploy/lifecycle.ts";
import type { ServiceUnits } from "../deploy/service-units.ts";
import type { Clock } from "../domain/clock.ts";
import type { Color } from "../domain/color.ts";
import type { Logger } from "../log/logger.ts";
import { followPrefix } from "../store/follow-prefix.ts";
import type { Store, Watch } from "../store/store.ts";
import { FleetAcks, type LaggingNode } from "./acknowledgements.ts";
import { INSTANCES_PREFIX } from "./agent-records.ts";
import { FleetDeployment } from "./fleet-deployment.ts";
import { type FleetQuorum, InstanceReports, type NodeInstances } from "./instance-reports.ts";
import { type Election, LeaderElection } from "./leader-election.ts";
import { FencedStore } from "./leader-fence.ts";
import { NodeAgent } from "./node-agent.ts";
import { NODES_PREFIX, NodeKey } from "./node-key.ts";
import { DEFAULT_ACK_TIMEOUT_MS, DEFAULT_LEASE_TTL_MS } from "./node-name.ts";
import { type FollowRouting, PeerRouting } from "./peer-routing.ts";
import { ROUTING_PREFIX } from "./routing-follower.ts";
import { TaskWriter } from "./task-writer.ts";

export interface FleetOptions {
  readonly node?: string;
  /**
   * Without --node: the name this server campaigns under, the same across its restarts (host and
   * data directory: one live server per data directory), so a server restarted after a crash
   * takes its own leader key back at once instead of waiting out its dead self's lease.
   */
  readonly unnamed?: string;
  readonly leaseTtlMs: number;
  readonly ackTimeoutMs: number;
  /** fleet.quorum from the config: how many agent nodes a deployment needs (default all). */
  readonly quorum?: FleetQuorum;
}

export interface Fleet {
  /** Before the routing is loaded: the store revision that load will at least include. */
  start(): Promise<void>;
  /**
   * After the controller has loaded the routing: from then on, routing records other servers
   * write are handed to `follow` (the controller's), in revision order.
   */
  follow(follow: FollowRouting): Promise<void>;
  /** After the routing is in force: publishes this node's key (with --node). */
  publish(): Promise<void>;
  /**
   * After the admin API listens: campaigns to lead the fleet (and again whenever the leader's key
   * vanishes). `onElected` settles what the previous leader left; commands wait for it.
   */
  lead(admin: string, onElected: (election: Election) => Promise<void>): Promise<void>;
  /**
   * The store for what only the leader writes (routing and deployment records): each write
   * carries this node's leader guard, and a refused one makes it step down (leader-fence.ts).
   */
  readonly fencedStore: Store;
  /** Who leads, for the admin API's gate on commands and for the status. */
  readonly leader: () => LeaderView;
  /** The controller's hook: this node serves `revision`; wait for the others. */
  readonly acknowledge: (revision: number) => Promise<readonly LaggingNode[]>;
  readonly nodes: () => {
    node: string;
    revision: number;
    lag: number;
    version: string;
    time: string;
    leader: boolean;
    /** When this server last saw the node's record written (ISO 8601). */
    lastSeen: string;
    /** Whether its heartbeat is on time; absent for nodes too old to send one. */
    storeConnected?: boolean;
    agent: boolean;
    instances: NodeInstances[];
  }[];
  /** The other nodes' instances and drains, for the deployments (DeployContext.fleet). */
  readonly instances: FleetDeployment;
  /**
   * Which color's instances this node's proxy uses for `color` of `service` (a drained node
   * serves its previous color in place of the one that failed there; null: none).
   */
  readonly servedColor: (service: string, color: Color) => Color | null;
  /** Whether this server leads (or is taking over): it drives deployments and writes tasks. */
  readonly leads: () => boolean;
  /** This node's slots changed: while it leads, every agent node's tasks follow (SlotRepository's onSaved). */
  readonly slotsSaved: (service: string) => Promise<void>;
  /**
   * After adoption and the routing are in force: the leader's task writer, and with --node this
   * node's agent, which carries out its tasks on `units`.
   */
  runInstances(units: ServiceUnits, ctx: Pick<DeployContext, "controller" | "log">): Promise<void>;
  close(): Promise<void>;
}

export async function joinFleet(
  store: Store,
  clock: Clock,
  log: Logger,
  options: FleetOptions = { leaseTtlMs: DEFAULT_LEASE_TTL_MS, ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS },
  version = "0.1.0",
): Promise<Fleet> {
  const acks = new FleetAcks(clock);
  // A watch that etcd ends (its history compacted while this node was cut off) is reloaded.
  const following = { clock, onWarning: (message: string, err?: unknown) => log.warn({ err }, message) };
  const watch: Watch = await followPrefix(store, NODES_PREFIX, acks, undefined, following);
  const key =
    options.node === undefined
      ? undefined
      : new NodeKey(store, options.node, {
          ttlMs: options.leaseTtlMs,
          version,
          agent: true,
          onConnected: (connected, err) =>
            connected
              ? log.info({ node: options.node }, "reaching etcd again")
              : log.warn({ err, node: options.node }, "cannot reach etcd: serving the last routing"),
        });
  const leads = (): boolean => {
    const now = election?.leadership().state;
    return now === "leader" || now === "taking-over";
  };
  const agentNodes = () => acks.nodes().flatMap((n) => (n.agent ? [n.node] : []));
  const instances = new InstanceReports(
    () => agentNodes().filter((n) => n !== options.node),
    () => options.quorum ?? "all",
  );
  const instancesWatch: Watch = await followPrefix(store, INSTANCES_PREFIX, instances, undefined, following);
  let writer: TaskWriter | undefined;
  const deployments = new FleetDeployment(instances, () => writer, clock, log);
  let agent: NodeAgent | undefined;
  let known = new Set<string>();
  acks.onChange(() => {
    instances.nodesChanged();
    const now = new Set(agentNodes());
    for (const node of now) if (!known.has(node)) void writer?.node(node);
    known = now;
  });
  let loadedAt = 0;
  let newest = 0;
  let peers: Watch | undefined;
  let election: LeaderElection | undefined;
  const fencedStore = new FencedStore(store, () => election);
  // Without --node the server still campaigns, under a name that says which server leads.
  const candidate = options.node ?? options.unnamed ?? `${hostname()}:${process.pid}`;
  const leader = (): LeaderView => {
    const now = election?.leadership();
    if (now === undefined) return { ready: false };
    return {
      ready: now.state === "leader",
      takingOver: now.state === "taking-over",
      ...(now.leader === undefined ? {} : { node: now.leader.node, admin: now.leader.admin }),
    };
  };
  return {
    async start() {
      loadedAt = await store.revision();
      // Lag counts routing writes a node has not applied; other keys bump the revision too.
      const { items } = await store.list(ROUTING_PREFIX);
      newest = Math.max(0, ...items.map((kv) => kv.modRevision));
    },
    async follow(follow) {
      const routing = new PeerRouting({
        follow,
        onServed: (revision) => {
          newest = Math.max(newest, revision);
          key?.serve(revision);
        },
        onWarning: (message) => log.warn(message),
      });
      // From the revision read before the controller loaded: nothing written since is missed.
      peers = await followPrefix(store, ROUTING_PREFIX, routing, loadedAt, following);
    },
    async publish() {
      await key?.start(loadedAt);
    },
    async lead(admin, onElected) {
      election = new LeaderElection(store, {
        node: candidate,
        admin,
        ttlMs: options.leaseTtlMs,
        onElected: async (e) => {
          log.info({ node: candidate, previous: e.previous }, e.reason);
          // The other nodes' tasks first, from this node's slots: what recovery changes follows.
          await writer?.elected();
          await onElected(e);
        },
        onDeposed: (reason) =>
          log.error(
            { node: candidate },
            `node ${candidate} no longer leads the fleet: ${reason}; another node takes over its deployments`,
          ),
        onWarning: (message, err) => log.warn({ err, node: candidate }, message),
      });
      await election.start();
    },
    fencedStore,
    leader,
    acknowledge: (revision) => {
      newest = Math.max(newest, revision);
      key?.serve(revision);
      // This node's proxy serves it already (the controller pushed before asking).
      return acks.waitFor(revision, options.ackTimeoutMs, options.node);
    },
    nodes: () => {
      const nodes = acks.nodes();
      const leading = leader().node;
      return nodes.map(({ seenAtMs, heartbeatMs, ...n }) => ({
        ...n,
        lag: Math.max(0, newest - n.revision),
        leader: n.node === leading,
        lastSeen: new Date(seenAtMs).toISOString(),
        ...reachesEtcd(clock.now() - seenAtMs, heartbeatMs),
        agent: n.agent === true,
        instances: instances.of(n.node),
      }));
    },
    instances: deployments,
    servedColor: (service, color) => agent?.servedColor(service, color) ?? color,
    leads,
    slotsSaved: (service) => writer?.service(service) ?? Promise.resolve(),
    async runInstances(units, ctx) {
      writer = new TaskWriter({
        store: fencedStore,
        units,
        self: options.node,
        agents: agentNodes,
        leads,
        log,
      });
      known = new Set(agentNodes());
      if (options.node === undefined) return;
      agent = new NodeAgent({
        node: options.node,
        store,
        units,
        ctx,
        clock,
        ttlMs: options.leaseTtlMs,
        leads,
      });
      await agent.start();
    },
    async close() {
      acks.close();
      await agent?.close();
      await instancesWatch.cancel().catch(() => {});
      await election?.close();
      await watch.cancel().catch(() => {});
      await peers?.cancel().catch(() => {});
      await key?.close();
    },
  };
}

/**
 * A node reaches etcd while its heartbeat (its record written again every `heartbeatMs`) is on
 * time: a beat and a half plus a second for the watch to deliver, and it is reported cut off,
 * before its lease expires and it drops out of the list.
 */
function reachesEtcd(silentMs: number, heartbeatMs: number | undefined): { storeConnected?: boolean } {
  return heartbeatMs === undefined ? {} : { storeConnected: silentMs <= 1.5 * heartbeatMs + 1_000 };
}
