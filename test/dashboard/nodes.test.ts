/**
 * The dashboard's nodes view in a real Chromium, on a real fleet: a `teal server --node srv` and a
 * `teal proxy --node edge-1` on a real etcd, the edge reaching etcd through a TCP relay the test
 * cuts. The view lists both nodes with the leader marked, their routing revision and lag and
 * whether they reach etcd, and follows the fleet live: a switch moves every node's revision, a
 * node cut off from etcd is shown as cut off and then drops out when its lease ends.
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type ProxyNode, startProxyNode } from "../fleet/proxy-node.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { launchChromium } from "../support/browser.ts";
import { type EtcdCluster, startEtcd } from "../support/etcd.ts";
import { startTcpRelay, type TcpRelay } from "../support/tcp-relay.ts";
import { api, startTeal, type TealProcess, tempDir, webServiceConfig } from "../support/teal-process.ts";

const PREFIX = "/dashboard-nodes";

describe("the dashboard's nodes view, on a fleet on etcd", () => {
  let etcd: EtcdCluster;
  let relay: TcpRelay;
  let blue: Backend;
  let green: Backend;
  let teal: TealProcess;
  let edge: ProxyNode;
  let browser: Browser;
  let page: Page;
  const cleanup: Array<() => Promise<unknown>> = [];
  const row = (node: string) => page.getByTestId(`node-${node}`);

  before(async () => {
    [etcd, blue, green, browser] = await Promise.all([
      startEtcd({ members: 1 }),
      startBackend("blue"),
      startBackend("green"),
      launchChromium(),
    ]);
    const member = new URL(etcd.endpoints[0]!);
    relay = await startTcpRelay({ host: member.hostname, port: Number(member.port) });
    const dirs = await Promise.all([tempDir(), tempDir()]);
    cleanup.push(() => Promise.all(dirs.map((d) => d.remove())));
    teal = await startTeal(webServiceConfig(blue, green), dirs[0]!.path, {
      serverArgs: ["--store", `etcd://${member.host}`, "--store-prefix", PREFIX, "--node", "srv"],
    });
    cleanup.push(() => teal.stop());
    // A long lease: the edge stays listed, as cut off, for a while after the relay is cut.
    edge = await startProxyNode(webServiceConfig(blue, green), dirs[1]!.path, [
      ...["--store", `etcd://${relay.address}`, "--store-prefix", PREFIX],
      ...["--node", "edge-1", "--lease-ttl", "9"],
    ]);
    cleanup.push(() => edge.stop());
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
    await Promise.all([relay?.close(), etcd?.stop(), blue?.close(), green?.close()]);
  });

  it("lists every node with the leader marked, in step and reaching etcd", async () => {
    const view = (await readFile(join(teal.dataDir, "view.token"), "utf8")).trim();
    await page.goto(`${teal.adminUrl}/#view=${view}`);
    await page.getByTestId("connection").filter({ hasText: "live" }).waitFor();
    await page.getByTestId("fleet-leader").filter({ hasText: "leader srv" }).waitFor();
    for (const node of ["srv", "edge-1"]) {
      await page.locator(`[data-testid=node-${node}][data-lag="0"][data-etcd=true]`).waitFor();
      await row(node).getByText("reaches etcd").waitFor();
      await row(node).getByText("in step").waitFor();
    }
    assert.equal(await row("srv").getAttribute("data-leader"), "true");
    assert.equal(await row("edge-1").getAttribute("data-leader"), "false");
    await row("srv").getByText("leader", { exact: true }).waitFor();
    assert.equal(await row("edge-1").getByText("leader", { exact: true }).count(), 0);
  });

  it("follows a switch live: every node shows the new revision", async () => {
    const before = Number((await row("edge-1").textContent())?.match(/revision (\d+)/)?.[1]);
    const res = await api(teal, "POST", "/v1/services/web/switch", { to: "green" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.lagging, []);
    const after = Number(
      (await api(teal, "GET", "/v1/status")).body.nodes.find((n: { node: string }) => n.node === "edge-1")
        .revision,
    );
    assert.ok(after > before, `revision ${before} -> ${after}`);
    for (const node of ["srv", "edge-1"]) await row(node).getByText(`revision ${after}`).waitFor();
  });

  it("shows a node cut off from etcd as cut off, then drops it when its lease ends", async () => {
    relay.cut();
    await page.locator("[data-testid=node-edge-1][data-etcd=false]").waitFor({ timeout: 15_000 });
    await row("edge-1").getByText("cut off").waitFor();
    // The rest of the fleet is unaffected.
    assert.equal(await row("srv").getAttribute("data-etcd"), "true");
    await row("edge-1").waitFor({ state: "detached", timeout: 20_000 });
    await page.getByTestId("nodes").getByText("1 live").waitFor();
  });
});
