/**
 * One deployment of the analysis scenario through teal's admin API: start it, then follow it to
 * its end, promoting past an inconclusive step and starting a late version's errors at promotion.
 */
import { sleep } from "../util.ts";
import type { VersionKind } from "./analysisSetup.ts";
import type { Admin, TealSetup } from "./deployTeal.ts";

const DEPLOYMENT_TIMEOUT_MS = 60_000;

export interface DeploymentView {
  seq: number;
  outcome: "running" | "succeeded" | "failed" | "rolled_back";
  reason: string | null;
  rollbackCause?: string | null;
  events: { at: string; type: string; data?: { check?: { name?: string } } }[];
}

export interface Ctx {
  admin: Admin;
  setup: TealSetup;
  dir: string;
}

async function history(c: Ctx, service: string): Promise<DeploymentView[]> {
  const r = await c.admin.call<{ deployments?: DeploymentView[] }>(
    "GET",
    `/v1/services/${service}/deployments?limit=3`,
  );
  return r.body.deployments ?? [];
}

export async function deploy(
  c: Ctx,
  service: string,
  version: string,
  env: Record<string, string>,
): Promise<number> {
  const r = await c.admin.call<{ deployment?: { seq: number } }>(
    "POST",
    `/v1/services/${service}/deployments`,
    {
      version,
      env,
    },
  );
  if (r.status !== 202 || !r.body.deployment)
    throw new Error(`deploy ${service} ${version}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body.deployment.seq;
}

interface ServiceState {
  deployment?: {
    seq: number;
    color: string;
    outcome: DeploymentView["outcome"];
    rollout?: { weight: number; step: number; steps: number; waiting: string | null } | null;
  };
  colors: Record<string, { instances: { url: string }[] }>;
}

/**
 * Polls the service (every 50 ms, bounded) until deployment `seq` ends. A step analysis that ends
 * inconclusive (too few requests) waits for an operator: the bench promotes it, as one who sees
 * no evidence against it would, and counts it. For a version whose errors start at full
 * promotion, tells its instances to start erring as soon as the status shows 100% on it.
 */
export async function untilFinished(
  c: Ctx,
  kind: VersionKind,
  seq: number,
): Promise<{ d: DeploymentView; inconclusive: number }> {
  const deadline = performance.now() + DEPLOYMENT_TIMEOUT_MS;
  let signalled = !kind.errorsAfterPromotion;
  let inconclusive = 0;
  let promotedWait: string | null = null;
  while (performance.now() < deadline) {
    const s = (await c.admin.call<ServiceState>("GET", `/v1/services/${kind.name}`)).body;
    const d = s.deployment?.seq === seq ? s.deployment : undefined;
    if (d && d.outcome !== "running") {
      const record = (await history(c, kind.name)).find((x) => x.seq === seq);
      if (record) return { d: record, inconclusive };
    }
    const r = d?.rollout;
    if (r?.waiting?.includes("inconclusive") && promotedWait !== `${r.step}`) {
      promotedWait = `${r.step}`;
      inconclusive++;
      await c.admin.call("POST", `/v1/services/${kind.name}/promote`, { full: false });
    }
    if (!signalled && r && r.step > r.steps && r.weight === 100) {
      signalled = true;
      const urls = s.colors[d!.color]?.instances.map((i) => i.url) ?? [];
      await Promise.all(
        urls.map((u) => fetch(`${u}/__bench/start-errors`, { method: "POST" }).catch(() => {})),
      );
    }
    await sleep(50);
  }
  throw new Error(`${kind.name} #${seq} did not finish within ${DEPLOYMENT_TIMEOUT_MS} ms`);
}
