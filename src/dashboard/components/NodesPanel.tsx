/**
 * The fleet on etcd: every live node with the leader marked, the routing revision it serves and
 * how far behind it is, whether it reaches etcd, its version, when it was last seen, and (from
 * servers that report them) its instances. From GET /v1/status's `nodes` and `leader`, so it is
 * live like the rest of the page; absent on a single teal (SQLite).
 */

import { formatTime } from "../format.ts";

/** One entry of /v1/status `nodes`, as the server sends it (newer fields optional). */
export interface FleetNodeView {
  readonly node: string;
  readonly revision: number;
  readonly lag: number;
  readonly version: string;
  readonly time: string;
  readonly leader?: boolean;
  readonly lastSeen?: string;
  readonly storeConnected?: boolean;
  readonly instances?: readonly NodeInstanceView[];
}

/** A node's instance, when the server lists them: only these fields are read. */
export interface NodeInstanceView {
  readonly service: string;
  readonly color: string;
  readonly health?: string | { readonly status?: string } | null;
  readonly healthy?: boolean;
  readonly version?: string | null;
  /** Drained out of the service's routing by a quorum deployment: the proxy serves `serving` instead. */
  readonly drained?: { readonly serving: string | null; readonly reason: string };
}

export function NodesPanel(props: {
  nodes: readonly FleetNodeView[];
  leader: { readonly node: string; readonly admin?: string } | undefined;
}) {
  const { nodes, leader } = props;
  return (
    <section class="nodes" aria-label="fleet nodes" data-testid="nodes">
      <h2>
        Nodes <span class="muted">{nodes.length} live</span>
      </h2>
      <p class="meta" data-testid="fleet-leader">
        {leader ? (
          <>
            leader <strong>{leader.node}</strong>
            {leader.admin && <span class="muted"> · {leader.admin}</span>}
          </>
        ) : (
          <span class="warn-text">no leader: an election is under way, or etcd cannot be reached</span>
        )}
      </p>
      {nodes.length === 0 ? (
        <p class="muted">No node has published yet (teal proxy/server --node NAME).</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Routing</th>
                <th scope="col">etcd</th>
                <th scope="col">Version</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <NodeRow key={n.node} node={n} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function NodeRow({ node: n }: { node: FleetNodeView }) {
  return (
    <tr
      data-testid={`node-${n.node}`}
      data-lag={n.lag}
      data-leader={n.leader ? "true" : "false"}
      data-etcd={n.storeConnected === undefined ? "unknown" : String(n.storeConnected)}
    >
      <th scope="row">
        {n.node} {n.leader && <span class="tag tag-live">leader</span>}
        {n.instances !== undefined && <Instances node={n.node} instances={n.instances} />}
      </th>
      <td>
        revision {n.revision} ·{" "}
        {n.lag === 0 ? <span class="good-text">in step</span> : <span class="warn-text">{n.lag} behind</span>}
      </td>
      <td>
        {n.storeConnected === undefined ? (
          <span class="muted">–</span>
        ) : n.storeConnected ? (
          <span class="good-text">reaches etcd</span>
        ) : (
          <span class="bad-text">cut off</span>
        )}
      </td>
      <td>{n.version}</td>
      <td>{n.lastSeen ? formatTime(n.lastSeen) : formatTime(n.time)}</td>
    </tr>
  );
}

function Instances({ node, instances }: { node: string; instances: readonly NodeInstanceView[] }) {
  if (instances.length === 0) return <p class="muted">no instances</p>;
  return (
    <ul class="instances" aria-label={`${node} instances`}>
      {instances.map((i, index) => {
        const health = healthOf(i);
        return (
          <li key={`${i.service}/${i.color}/${index}`}>
            <span class={`health health-${health}`}>{health}</span> {i.service}{" "}
            <span class={`dot dot-${i.color}`} aria-hidden="true" /> {i.color}
            {i.version && <span class="muted"> {i.version}</span>}
            {i.drained && (
              <span class="health health-failed" title={i.drained.reason}>
                {" "}
                drained: serves {i.drained.serving ?? "nothing"} instead
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** The instance's health as a word, from the fields a server may send. */
function healthOf(i: NodeInstanceView): string {
  if (typeof i.health === "string") return i.health;
  if (i.health && typeof i.health.status === "string") return i.health.status;
  if (i.healthy !== undefined) return i.healthy ? "healthy" : "unhealthy";
  return "no check";
}
