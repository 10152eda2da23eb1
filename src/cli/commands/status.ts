/** `teal status`: every service's routing, endpoints, drains and traffic. */

import type { CertificateStatus } from "../../acme/orderer.ts";
import type { NodeStatus } from "../../api/app.ts";
import type { DeploymentSummary, ServiceStatusView, StatusView, TrafficView } from "../../api/status-view.ts";
import type { MemberView } from "../../deploy/color-group.ts";
import { adminClient, type GlobalOptions } from "../context.ts";
import { color, colorName, emit } from "../output.ts";

export async function statusCommand(opts: GlobalOptions): Promise<number> {
  const client = await adminClient(opts);
  const status = await client.get<
    StatusView & { nodes?: NodeStatus[]; leader?: FleetLeader; certificates?: CertificateStatus[] }
  >("/v1/status");
  emit(opts.json, status, () => renderStatus(status));
  return 0;
}

/** On a fleet: the node that leads and where its admin API answers. */
interface FleetLeader {
  readonly node: string;
  readonly admin?: string;
}

export function renderStatus(
  status: StatusView & {
    nodes?: readonly NodeStatus[];
    leader?: FleetLeader;
    certificates?: readonly CertificateStatus[];
  },
): string {
  // proxyTls is absent from servers older than this CLI.
  const https = status.proxyTls ? ` · https ${status.proxyTls}` : "";
  const lines = [color.dim(`proxy ${status.proxy}${https} · generation ${status.generation}`)];
  if (status.nodes !== undefined) {
    lines.push(...renderNodes(status.nodes));
    lines.push(
      status.leader === undefined
        ? `leader  ${color.yellow("none")} (an election is under way, or etcd cannot be reached)`
        : `leader  ${color.bold(status.leader.node)}  admin ${status.leader.admin ?? "?"}`,
    );
  }
  if (status.certificates !== undefined) lines.push(...renderCertificates(status.certificates));
  if (status.services.length === 0) lines.push("no services configured");
  for (const s of status.services) lines.push("", ...renderService(s));
  return lines.join("\n");
}

/** proxy.tls.acme: each host's certificate, and why the last order failed. */
function renderCertificates(certificates: readonly CertificateStatus[]): string[] {
  const state = (c: CertificateStatus) =>
    c.state === "issued"
      ? color.green("issued")
      : c.state === "failed"
        ? color.red(`failed ${c.failures}x`)
        : color.yellow(c.state);
  return [
    "",
    "certificates (ACME)",
    ...certificates.flatMap((c) => [
      `  ${color.bold(c.host)}  ${state(c)}  ${c.notAfter === null ? "none served yet" : `expires ${c.notAfter}`}${c.nextCheckAt === null ? "" : `  next check ${c.nextCheckAt}`}`,
      ...(c.lastError === null ? [] : [`    ${color.red(`last error: ${c.lastError}`)}`]),
    ]),
  ];
}

/**
 * The fleet on etcd: every node whose lease is alive (one cut off longer than its TTL is gone),
 * and whether its heartbeat still arrives (one cut off for less is listed as such).
 */
function renderNodes(nodes: readonly NodeStatus[]): string[] {
  if (nodes.length === 0) return ["", "nodes   none has published yet (teal proxy/server --node NAME)"];
  const reaching = nodes.filter((n) => n.storeConnected !== false).length;
  return [
    "",
    `nodes   ${reaching} of ${nodes.length} reaching etcd`,
    ...nodes.flatMap((n) => [
      `  ${color.bold(n.node)}${n.leader ? `  ${color.green("leader")}` : ""}${etcdLine(n)}  revision ${n.revision}  ${n.lag === 0 ? color.green("in step") : color.yellow(`${n.lag} revisions behind`)}  teal ${n.version}  published ${n.time}`,
      ...(n.instances ?? []).map(
        (i) =>
          `    ${i.service} ${colorName(i.color)} ${i.version ?? "-"}${i.deployment === null ? "" : ` #${i.deployment}`}  ${i.health === "healthy" ? color.green(i.health) : i.health === "failed" ? color.red(i.health) : color.yellow(i.health)}  ${i.instances.map((m) => `${m.url}${m.pid === null ? "" : ` pid ${m.pid}`}`).join(", ")}${i.detail ? `  ${i.detail}` : ""}${i.drained ? `  ${color.red(`drained: its proxy serves ${i.drained.serving ?? "nothing"} instead`)}` : ""}`,
      ),
    ]),
  ];
}

function etcdLine(n: NodeStatus): string {
  if (n.storeConnected === undefined) return "";
  return n.storeConnected
    ? `  ${color.green("reaches etcd")}`
    : `  ${color.red(`cut off from etcd (last seen ${n.lastSeen ?? "?"})`)}`;
}

function renderService(s: ServiceStatusView): string[] {
  const flags = [
    s.routing.paused ? color.yellow("PAUSED") : "",
    s.routing.maintenance ? color.red("MAINTENANCE") : "",
  ]
    .filter(Boolean)
    .join(" ");
  const out = [
    `${color.bold(s.name)}  live ${colorName(s.routing.live)}  split blue ${s.weights.blue}% / green ${s.weights.green}%${flags ? `  ${flags}` : ""}${s.held ? `  (${s.held} held)` : ""}`,
  ];
  for (const a of s.alerts) out.push(`  ${color.red(color.bold(a))}`);
  if (s.nothingDeployed) {
    const first = s.deployment?.outcome === "running";
    out.push(
      `  ${color.yellow(first ? "nothing live yet: its first deployment is running" : `nothing deployed yet (teal deploy ${s.name} --version …)`)}`,
    );
  }
  for (const r of s.routes)
    out.push(`  route   ${r.host ?? "(any host)"} ${r.path}${r.stripPrefix ? " (prefix stripped)" : ""}`);
  if (s.deployment) out.push(`  deploy  ${deploymentLine(s.deployment)}`, ...rolloutLines(s.deployment));
  const m = s.deployment?.migration;
  if (m) out.push(`  migration ${m.name} ${m.phase.replace("_", " ")} (schema ${m.schema})`);
  for (const c of ["blue", "green"] as const) {
    const eps = s.endpoints.filter((e) => e.color === c);
    const view = s.colors[c];
    if (s.runtime !== "static")
      out.push(
        `  ${colorName(c).padEnd(c === "blue" ? 6 : 5)}${" ".repeat(c === "blue" ? 1 : 2)}${slotLine(s, c)}`,
      );
    for (const i of view.instances)
      if (s.runtime !== "static" || i.health) out.push(`          ${instanceLine(i)}`);
    if (s.runtime !== "static") {
      out.push(`          ${traffic(s.traffic[c])}`);
      continue;
    }
    const health =
      eps.length === 0
        ? color.dim("no endpoints")
        : eps.map((e) => `${e.url} ${e.healthy ? color.green("up") : color.red("down")}`).join(", ");
    const drain = s.drains.find((d) => d.color === c);
    const drainText = drain
      ? `  drain ${drain.state}${drain.remaining ? ` (${drain.remaining} left)` : ""}${drain.forced ? ` (${drain.forced} cut)` : ""}`
      : "";
    out.push(
      `  ${colorName(c).padEnd(c === "blue" ? 6 : 5)}${" ".repeat(c === "blue" ? 1 : 2)}${health}${drainText}`,
    );
    out.push(`          ${traffic(s.traffic[c])}`);
  }
  return out;
}

function deploymentLine(d: DeploymentSummary): string {
  const what = `#${d.seq} ${d.kind} ${d.version} → ${colorName(d.color)}`;
  if (d.outcome === "running") return `${what} ${color.yellow(`running: ${d.phase}`)} since ${d.startedAt}`;
  const outcome = d.outcome === "succeeded" ? color.green(d.outcome) : color.red(d.outcome.replace("_", " "));
  return `${what} ${outcome}${d.reason ? `: ${d.reason}` : ""}`;
}

function rolloutLines(d: DeploymentSummary): string[] {
  const r = d.rollout;
  if (!r || d.outcome !== "running") return [];
  const step =
    r.step === 0 ? "not started" : r.step > r.steps ? "promoted" : `step ${r.step}/${r.steps}: ${r.stepText}`;
  const flags = [r.paused ? color.yellow("PAUSED") : "", r.waiting ? `waiting for ${r.waiting}` : ""].filter(
    Boolean,
  );
  const out = [
    `  rollout ${r.strategy}, ${step}, ${r.weight}% on ${colorName(d.color)}${flags.length ? `, ${flags.join(", ")}` : ""}`,
  ];
  for (const c of r.checks) {
    const verdict = c.last?.verdict ?? "-";
    const shown =
      verdict === "fail"
        ? color.red(verdict)
        : verdict === "pass"
          ? color.green(verdict)
          : color.yellow(verdict);
    const limits = [
      ...Object.entries(c.thresholds).map(([k, v]) => `${k} ${v}`),
      ...(c.compare ? [`compare confidence ${c.compare.confidence} tolerance ${c.compare.tolerance}`] : []),
    ].join(", ");
    out.push(
      `  check   ${c.name} (${c.metric}): ${shown} ${c.last?.reason ?? ""} ${color.dim(`[${limits}] ${c.passes} pass / ${c.failures} fail / ${c.inconclusives} inconclusive`)}`,
    );
  }
  return out;
}

function slotLine(s: ServiceStatusView, c: "blue" | "green"): string {
  const v = s.colors[c];
  const role = s.routing.live === c ? color.bold("live") : v.warmUntil ? `warm until ${v.warmUntil}` : "idle";
  const version = v.version ?? color.dim("nothing deployed");
  const ready =
    v.instances.length === 0
      ? ""
      : v.ready
        ? color.green(" ready")
        : color.red(` not ready: ${v.notReadyReason}`);
  return `${version}  ${role}  ${v.state}${ready}`;
}

function instanceLine(i: MemberView): string {
  const state = !i.alive
    ? color.red("exited")
    : i.health === null
      ? color.dim("unchecked")
      : i.health.status === "healthy"
        ? color.green("healthy")
        : i.health.status === "unhealthy"
          ? color.red("unhealthy")
          : color.yellow("starting");
  const probe = i.health?.lastProbe;
  const detail = probe && !probe.ok && probe.reason ? color.dim(` (${probe.reason})`) : "";
  const pid = i.pid === null ? "" : color.dim(` pid ${i.pid}`);
  const restarts = i.restarts > 0 ? color.yellow(` restarted ${i.restarts}×`) : "";
  return `${i.id} ${i.url} ${state}${detail}${pid}${restarts}`;
}

function traffic(t: TrafficView): string {
  const ms = (v: number | null) => (v === null ? "-" : `${v.toFixed(1)}ms`);
  return color.dim(
    `${t.requests} req · 5xx ${t.byClass["5xx"]} · 4xx ${t.byClass["4xx"]} · in flight ${t.inFlight} · p50 ${ms(t.p50Ms)} p90 ${ms(t.p90Ms)} p99 ${ms(t.p99Ms)}`,
  );
}
