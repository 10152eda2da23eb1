/**
 * Makes the dashboard screenshots in docs/ (run by hand: `npx tsx scripts/screenshots.ts`, after
 * `npm run build:dashboard`): a real server, the fixture app, a canary under load, then a bad
 * version that the analysis rolls back.
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { launchChromium } from "../test/support/browser.ts";
import { deploy, finished } from "../test/support/deployments.ts";
import { load } from "../test/support/http.ts";
import { api, processServiceConfig, startTeal, tempDir } from "../test/support/teal-process.ts";

const CONFIG = processServiceConfig(
  `    deployment: { scaleDownDelayMs: 60000, drainTimeoutMs: 2000 }
    strategy:
      canary:
        steps:
          - setWeight: 30
          - analysis: { duration: 8s }
          - pause: {}
    analysis:
      window: 5s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 1s, minRequests: 20 }
        - { name: latency, metric: p99, maxRatioToStable: 1.5, interval: 1s, minRequests: 20 }`,
  { instances: 2 },
).replace("stopTimeoutMs: 2000", "stopTimeoutMs: 2000\n      env: { APP_DELAY_MS: 8 }");

const dir = await tempDir();
const teal = await startTeal(CONFIG, dir.path);
const browser = await launchChromium();
let stop = false;
let traffic: ReturnType<typeof load> | undefined;
try {
  await finished(teal, await deploy(teal, "v1"));
  // The load starts once v1 serves, so the charts show users' traffic, not a service not yet up.
  traffic = load(`${teal.proxyUrl}/`, { total: 10_000_000, connections: 6, stop: () => stop });
  const view = (await readFile(join(dir.path, "view.token"), "utf8")).trim();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${teal.adminUrl}/#view=${view}`);
  await delay(20_000);
  const canary = await deploy(teal, "v2");
  await page.locator('[data-testid=step-web][data-step="3"]').waitFor({ timeout: 60_000 });
  await delay(6_000);
  await page.screenshot({ path: "docs/dashboard-canary.png", fullPage: true });

  const dark = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: "dark" });
  await dark.goto(`${teal.adminUrl}/#view=${view}`);
  await dark.locator("[data-testid=chart-rps-web]").waitFor();
  await delay(1500);
  await dark.screenshot({ path: "docs/dashboard-dark.png", fullPage: true });

  const phone = await browser.newPage({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  await phone.goto(`${teal.adminUrl}/#view=${view}`);
  await phone.locator("[data-testid=verdict-web]").waitFor();
  await delay(1500);
  await phone.screenshot({ path: "docs/dashboard-phone.png" });

  await api(teal, "POST", "/v1/services/web/promote", { full: true });
  await finished(teal, canary);
  await delay(5_000);
  const bad = await api(teal, "POST", "/v1/services/web/deployments", {
    version: "v3",
    env: { APP_ERROR_EVERY: "4" },
  });
  await finished(teal, bad.body.deployment.seq as number);
  await delay(5_000);
  const entry = page.locator(`[data-testid=history-web] [data-seq="${bad.body.deployment.seq}"]`);
  await entry.locator("summary").click();
  // Back to the top: a full-page shot of a scrolled page would draw the sticky header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await delay(500);
  await page.screenshot({ path: "docs/dashboard-history.png", fullPage: true });
  console.log("wrote docs/dashboard-{canary,dark,phone,history}.png");
} finally {
  stop = true;
  await traffic;
  await browser.close();
  await teal.stop();
  await dir.remove();
}
