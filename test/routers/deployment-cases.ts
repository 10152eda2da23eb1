/**
 * The same deployment cases for every router: a real `teal server` with the process runtime
 * drives a real nginx or HAProxy, or serves through its own proxy (`router: teal`); clients load
 * the router (for nginx and HAProxy never teal's proxy).
 */

import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Agent, request } from "undici";
import { history, underLoad } from "../support/deployments.ts";
import {
  type Json,
  processServiceConfig,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
} from "../support/teal-process.ts";

/**
 * What a new client sees through the router, on a new connection: after an nginx reload, old
 * workers may still answer a request that raced the reload on an existing keep-alive connection.
 */
export async function served(
  teal: Pick<TealProcess, "proxyUrl">,
): Promise<{ color: string; version: string }> {
  const dispatcher = new Agent();
  try {
    const res = await request(`${teal.proxyUrl}/`, { dispatcher });
    return (await res.body.json()) as { color: string; version: string };
  } finally {
    await dispatcher.close();
  }
}

export interface RouterUnderTest {
  /** Base URL clients load, e.g. http://127.0.0.1:PORT; undefined: teal's own proxy (known once teal is up). */
  readonly url: string | undefined;
  /** The service's `router:` value, as flow YAML. */
  readonly routerYaml: string;
  readonly override: string;
  stop(): Promise<void>;
}

export interface DeploymentContext {
  readonly dir: () => string;
  readonly teal: () => TealProcess;
  /** The teal process as clients see it: its proxy URL is the router's. */
  readonly viaRouter: () => TealProcess;
  readonly router: () => RouterUnderTest;
  readonly cli: (...args: string[]) => ReturnType<typeof runCli>;
}

const SERVICE = (
  routerYaml: string,
  override: string,
) => `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    override: ${override}
    strategy:
      canary:
        steps:
          - setWeight: 20
          - analysis: { duration: 1500ms }
          - setWeight: 60
    analysis:
      window: 2s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 200ms, minRequests: 20 }
    router: ${routerYaml}`;

/** Registers the shared cases; `start` brings up the router in the test's temp dir. */
export function deploymentCases(
  name: string,
  start: (dir: string) => Promise<RouterUnderTest>,
  report: { blueGreenErrors: (errors: number, requests: number, diag: (m: string) => void) => void },
): DeploymentContext {
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let router: RouterUnderTest;
  const viaRouter = () => (router.url === undefined ? teal : { ...teal, proxyUrl: router.url });
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dir.path]);

  before(async () => {
    dir = await tempDir(`teal-${name}-`);
    router = await start(dir.path);
    teal = await startTeal(processServiceConfig(SERVICE(router.routerYaml, router.override)), dir.path);
    const first = await cli("deploy", "web", "--version", "v1", "--strategy", "blueGreen");
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await teal?.stop();
    await router?.stop();
    await dir?.remove();
  });

  it(`deploys v2 blue-green through ${name} under keep-alive load`, async (t) => {
    assert.equal((await served(viaRouter())).version, "v1");
    const { result, traffic } = await underLoad(
      viaRouter(),
      () => cli("deploy", "web", "--version", "v2", "--strategy", "blueGreen"),
      16,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(traffic.non2xx, 0, `non-2xx answers: ${JSON.stringify([...traffic.statuses])}`);
    assert.ok(traffic.ok > 100, `only ${traffic.ok} requests went through`);
    assert.equal((await served(viaRouter())).version, "v2");
    // The router reported the old color's drain (nginx: its old workers had to finish first).
    const drain = (await history(teal))[0]!.events.find((e: Json) => e.type === "drain");
    assert.match(drain?.data?.state ?? "no report", /^(drained|forced)$/, JSON.stringify(drain));
    report.blueGreenErrors(traffic.errors, traffic.ok + traffic.errors + traffic.non2xx, (m) =>
      t.diagnostic(m),
    );
  });

  it(`rolls a canary back through ${name} when its error rate fails the analysis`, async (t) => {
    const { result, traffic } = await underLoad(
      viaRouter(),
      () => cli("deploy", "web", "--version", "v3", "--env", "APP_ERROR_EVERY=5"),
      16,
    );
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /analysis "errors" failed: errorRate 0\.\d+ > max 0\.05/);
    assert.doesNotMatch(result.stdout, /step 3\/3/, "it never reached the 60% step");
    assert.equal((await served(viaRouter())).version, "v2");
    t.diagnostic(
      `canary rollback through ${name}: ${traffic.ok + traffic.non2xx + traffic.errors} requests, ${traffic.non2xx} answered 500 by v3, ${traffic.errors} connection errors`,
    );
  });

  return { dir: () => dir.path, teal: () => teal, viaRouter, router: () => router, cli };
}
