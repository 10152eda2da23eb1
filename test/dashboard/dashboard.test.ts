import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { deploy, finished, served, service } from "../support/deployments.ts";
import { get, load } from "../support/http.ts";
import { api, processServiceConfig, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

/** The little of the DOM that functions run in the page use (this file has no DOM types). */
declare const document: {
  querySelector(s: string): { getAttribute(name: string): string | null } | null;
  activeElement: { closest(s: string): unknown } | null;
};

// A canary that stops at a manual pause, so that the test, not the clock, decides when it moves.
const CANARY = `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 30
          - pause: {}
    analysis:
      window: 2s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 200ms, minRequests: 10 }`;

describe("the dashboard in a real browser, during a canary under load", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let browser: Browser;
  let page: Page;
  let stopLoad = false;
  let traffic: ReturnType<typeof load> | undefined;
  let canarySeq = 0;
  const testId = (id: string) => page.getByTestId(id);
  /** Waits in the page until an attribute's number exceeds n. */
  const attrAbove = (id: string, name: string, n: number) =>
    page.waitForFunction(
      ([selector, attribute, min]) => Number(document.querySelector(selector)?.getAttribute(attribute)) > min,
      [`[data-testid=${id}]`, name, n] as const,
    );
  const attr = async (id: string, name: string) => Number(await testId(id).getAttribute(name));

  before(async () => {
    dir = await tempDir();
    browser = await launchChromium();
    teal = await startTeal(processServiceConfig(CANARY), dir.path);
    await finished(teal, await deploy(teal, "v1"));
    page = await browser.newPage();
  });
  after(async () => {
    stopLoad = true;
    await traffic;
    await browser?.close();
    await teal?.stop();
    await dir?.remove();
  });

  it("opens with the view token from the link and takes it out of the address bar", async () => {
    const view = (await readFile(join(dir.path, "view.token"), "utf8")).trim();
    await page.goto(`${teal.adminUrl}/#view=${view}`);
    await testId("connection").filter({ hasText: "live" }).waitFor();
    assert.equal(page.url(), `${teal.adminUrl}/`);
    await testId("live-web").filter({ hasText: "live: blue v1" }).waitFor();
  });

  it("shows the split, the step, the chart data and the history of a canary as it runs", async () => {
    traffic = load(`${teal.proxyUrl}/`, { total: 10_000_000, connections: 4, stop: () => stopLoad });
    const pointsBefore = await attr("chart-rps-web", "data-points");
    canarySeq = await deploy(teal, "v2");

    await page.locator('[data-testid=split-web][data-green="30"]').waitFor();
    await page.locator('[data-testid=step-web][data-step="2"]').filter({ hasText: "pause" }).waitFor();
    await testId("rollout-web").filter({ hasText: "Waiting for: teal promote" }).waitFor();
    // Samples arrive every second, and the canary color's requests/s shows in them.
    await attrAbove("last-sample-web", "data-green-rps", 0);
    await attrAbove("last-sample-web", "data-blue-rps", 0);
    const points = await attr("chart-rps-web", "data-points");
    assert.ok(points > pointsBefore, `${points} chart points, ${pointsBefore} before`);
    await attrAbove("chart-rps-web", "data-points", points);
    assert.ok((await attr("chart-rps-web", "data-markers")) >= 1, "the move to 30% is marked");
    await testId("markers-web").filter({ hasText: "weight: green 0% → 30%" }).waitFor();
    await testId("verdict-web").filter({ hasText: "green v2" }).waitFor();

    const entry = page.locator(`[data-testid=history-web] [data-seq="${canarySeq}"]`);
    await page.locator(`[data-testid=history-web] [data-seq="${canarySeq}"][data-outcome=running]`).waitFor();
    await entry.locator("summary").click();
    await entry.getByText("step 1/2: setWeight 30").waitFor();
  });

  it("works from the keyboard: an action opens its confirmation with Enter, Escape closes it and gives focus back", async () => {
    const button = page.locator("[data-action=maintenance-on]");
    await button.focus();
    await page.keyboard.press("Enter");
    const dialog = testId("action-dialog");
    await dialog.getByText("every request gets a 503 maintenance page").waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.closest("[data-testid=action-dialog]") !== null),
      true,
      "focus moved into the dialog",
    );
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(
      await button.evaluate((b) => b === document.activeElement),
      true,
      "focus is back on the button",
    );
    assert.equal((await service(teal)).routing.maintenance, false, "nothing was done");
  });

  it("refuses the rollback without the admin token or with a wrong one, and nothing changes", async () => {
    for (const token of ["", "not-the-admin-token"]) {
      await page.locator("[data-action=abort]").click();
      const dialog = testId("action-dialog");
      await dialog.getByText("stop green v2; all traffic stays on or goes back to blue v1 now").waitFor();
      await dialog.getByLabel("Admin token", { exact: true }).fill(token);
      await dialog.getByRole("button", { name: "Abort (roll back)" }).click();
      await testId("action-error").filter({ hasText: "Refused (401 UNAUTHORIZED)" }).waitFor();
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "detached" });
    }
    const s = await service(teal);
    assert.equal(s.routing.greenPercent, 30);
    assert.equal(s.deployment.outcome, "running");
    await page.locator('[data-testid=split-web][data-green="30"]').waitFor();
  });

  it("rolls back with the admin token, and the page shows it", async () => {
    const markersBefore = await attr("chart-rps-web", "data-markers");
    await page.locator("[data-action=abort]").click();
    const dialog = testId("action-dialog");
    await dialog.getByLabel("Admin token", { exact: true }).fill(teal.token);
    await dialog.getByRole("button", { name: "Abort (roll back)" }).click();
    await dialog.waitFor({ state: "detached" });
    await testId("notice").filter({ hasText: "accepted" }).waitFor();

    await page.locator('[data-testid=split-web][data-green="0"]').waitFor();
    await page
      .locator('[data-testid=verdict-web][data-tone="bad"]')
      .filter({ hasText: "rolled back" })
      .waitFor();
    await page
      .locator(`[data-testid=history-web] [data-seq="${canarySeq}"][data-rollback-cause=abort]`)
      .filter({ hasText: "rolled back by teal (abort)" })
      .waitFor();
    await attrAbove("chart-rps-web", "data-markers", markersBefore);
    const d = await finished(teal, canarySeq);
    assert.equal(d.outcome, "rolled_back");
    assert.match(d.reason, /aborted by api/);
    assert.equal((await service(teal)).routing.greenPercent, 0);
  });

  it("refuses the Roll back button without the admin token, and rolls back with it", async () => {
    const seq = await deploy(teal, "v3");
    await page.locator(`[data-testid=history-web] [data-seq="${seq}"][data-outcome=running]`).waitFor();
    await testId("rollout-web").filter({ hasText: "Waiting for: teal promote" }).waitFor();
    // Someone else promotes while a confirmation to abort v3 is open: it closes, it never acts
    // on what it no longer describes.
    const dialog = testId("action-dialog");
    await page.locator("[data-action=abort]").click();
    await dialog.getByText("stop green v3").waitFor();
    assert.equal((await api(teal, "POST", "/v1/services/web/promote", { full: true })).status, 200);
    await dialog.waitFor({ state: "detached" });
    await testId("notice").filter({ hasText: "changed while you were confirming" }).waitFor();
    assert.equal((await finished(teal, seq)).outcome, "succeeded");
    await testId("live-web").filter({ hasText: "live: green v3" }).waitFor();

    const rollback = page.locator("[data-action=rollback]");
    await rollback.click();
    await dialog.getByText("from green v3 back to the previous version").waitFor();
    await dialog.getByRole("button", { name: "Roll back" }).click();
    await testId("action-error").filter({ hasText: "Refused (401 UNAUTHORIZED)" }).waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal((await service(teal)).routing.live, "green", "a refused rollback changes nothing");

    await rollback.click();
    await dialog.getByLabel("Admin token", { exact: true }).fill(teal.token);
    await dialog.getByRole("button", { name: "Roll back" }).click();
    await dialog.waitFor({ state: "detached" });
    await testId("live-web").filter({ hasText: "live: blue v1" }).waitFor();
    assert.equal((await service(teal)).routing.live, "blue");
    await page
      .locator(`[data-testid=history-web] [data-seq="${seq}"][data-rollback-cause=operator]`)
      .filter({ hasText: "undone by operator" })
      .waitFor();
    await page
      .locator("[data-testid=history-web] [data-seq]")
      .filter({ hasText: `teal rollback of #${seq}` })
      .waitFor();

    stopLoad = true;
    const t = await traffic!;
    assert.equal(t.errors, 0, "no client request failed during the canaries and the rollbacks");
  });

  it("switches, pauses and resumes traffic, turns maintenance on and off, and promotes, each behind its confirmation", async () => {
    const dialog = testId("action-dialog");
    const card = testId("service-web");
    /** Clicks an action, checks what its confirmation says, confirms with the admin token. */
    const act = async (action: string, says: string, confirm: string) => {
      await page.locator(`[data-action=${action}]`).click();
      await dialog.getByText(says).waitFor();
      await dialog.getByLabel("Admin token", { exact: true }).fill(teal.token);
      await dialog.getByRole("button", { name: confirm, exact: true }).click();
      await dialog.waitFor({ state: "detached" });
    };

    await act("switch", "all traffic from blue v1 to green v3", "Switch to green");
    await testId("live-web").filter({ hasText: "live: green v3" }).waitFor();
    assert.equal((await service(teal)).routing.live, "green");
    assert.equal((await served(teal)).version, "v3");

    await act("pause", "new requests are held", "Pause traffic");
    await card.locator(".pill", { hasText: "paused" }).waitFor();
    assert.equal((await service(teal)).routing.paused, true);
    await act("resume", "held requests go on in order", "Resume traffic");
    await card.locator(".pill", { hasText: "paused" }).waitFor({ state: "detached" });
    assert.equal((await service(teal)).routing.paused, false);

    await act("maintenance-on", "every request gets a 503 maintenance page", "Maintenance on");
    await card.locator(".pill", { hasText: "maintenance" }).waitFor();
    assert.equal((await get(`${teal.proxyUrl}/`)).status, 503);
    await act("maintenance-off", "requests reach green v3 again", "End maintenance");
    await card.locator(".pill", { hasText: "maintenance" }).waitFor({ state: "detached" });
    assert.equal((await get(`${teal.proxyUrl}/`)).status, 200);

    const seq = await deploy(teal, "v4");
    await testId("rollout-web").filter({ hasText: "Waiting for: teal promote" }).waitFor();
    await act("promote", "and go on with blue v4", "Promote");
    await page.locator(`[data-testid=history-web] [data-seq="${seq}"][data-outcome=succeeded]`).waitFor();
    await testId("live-web").filter({ hasText: "live: blue v4" }).waitFor();
    assert.equal((await finished(teal, seq)).outcome, "succeeded");
  });
});
