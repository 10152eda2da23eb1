/**
 * The dashboard's certificates panel in a real Chromium, fed by GET /v1/status's `tls` section:
 * a certificate file (close to expiry: a warning) and ACME hosts ordered from a real pebble, one
 * issued and one whose order fails with its error. The page follows without a reload: the ACME
 * order's outcome, and a certificate file replaced on disk.
 */

import assert from "node:assert/strict";
import { copyFile, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type Backend, startBackend } from "../support/backends.ts";
import { launchChromium } from "../support/browser.ts";
import { createPki, type TestPki } from "../support/certs.ts";
import { eventually } from "../support/eventually.ts";
import { type Pebble, startPebble } from "../support/pebble.ts";
import { freePort } from "../support/routers.ts";
import { api, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

describe("the dashboard's certificates panel", { timeout: 180_000 }, () => {
  let pki: TestPki;
  let pebble: Pebble;
  let backend: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let browser: Browser;
  let page: Page;
  let certFile: string;
  let keyFile: string;
  const row = (host: string) => page.getByTestId(`cert-${host}`);

  before(async () => {
    pki = await createPki();
    dir = await tempDir("teal-cert-view-");
    // The file teal reads is a copy, so the test can replace it the way a renewal does.
    const leaf = await pki.leaf("app", ["app.test"]);
    certFile = join(dir.path, "app.pem");
    keyFile = join(dir.path, "app.key");
    await copyFile(leaf.cert, certFile);
    await copyFile(leaf.key, keyFile);
    const httpPort = await freePort();
    pebble = await startPebble({ httpPort, hosts: ["acme.test"] });
    backend = await startBackend("blue");
    browser = await launchChromium();
    teal = await startTeal(
      `
proxy:
  listen: 127.0.0.1:${httpPort}
  tls:
    listen: 127.0.0.1:0
    certificates:
      - { cert: ${certFile}, key: ${keyFile} }
    acme:
      directory: ${pebble.directory}
      email: ops@app.test
      hosts: [acme.test, unreachable.test]
      caFile: ${pebble.caFile}
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${backend.url}]
`,
      dir.path,
    );
    page = await browser.newPage();
    const view = (await readFile(join(dir.path, "view.token"), "utf8")).trim();
    await page.goto(`${teal.adminUrl}/#view=${view}`);
    await page.getByTestId("certificates").waitFor();
  });

  after(async () => {
    await browser?.close();
    await teal?.stop();
    await pebble?.stop();
    await backend?.close();
    await dir?.remove();
    await pki?.remove();
  });

  it("shows each host's certificate: source, subject, issuer, expiry with days left, ACME state and error", async () => {
    // The test PKI's certificates last 2 days: 1 whole day left, under the 14-day warning.
    const app = row("app.test");
    await app.filter({ hasText: "subject CN=app.test · issuer CN=teal test intermediate" }).waitFor();
    assert.equal(await app.getAttribute("data-source"), "file");
    assert.match(await app.innerText(), /file\s/);
    assert.match(await app.innerText(), /expires \d{4}-\d\d-\d\d \(1 day left\)/);
    assert.equal(await app.locator(".pill-warn").count(), 1);
    assert.match(await app.innerText(), new RegExp(certFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));

    // ACME: the page follows the orders as they end, without a reload.
    await page.locator('[data-testid="cert-acme.test"][data-state="issued"]').waitFor({ timeout: 90_000 });
    const acme = await row("acme.test").innerText();
    assert.match(acme, /ACME/);
    assert.match(acme, /issuer CN=Pebble Intermediate CA/);
    assert.match(acme, /\(\d+ days left\)/);
    await page
      .locator('[data-testid="cert-unreachable.test"][data-state="failed"]')
      .waitFor({ timeout: 90_000 });
    const failed = await row("unreachable.test").innerText();
    assert.match(failed, /none served yet/);
    assert.match(failed, /last order failed: .*unreachable\.test/);

    // The same rows in GET /v1/status.
    const status = await api(teal, "GET", "/v1/status");
    const hosts = (status.body.tls.certificates as { host: string; source: string }[]).map(
      (c) => `${c.source} ${c.host}`,
    );
    assert.deepEqual(hosts, ["file app.test", "acme acme.test", "acme unreachable.test"]);
  });

  it("follows a certificate file replaced on disk", async () => {
    const renewed = await pki.leaf("renewed", ["app.test", "www.app.test"]);
    // Written beside them and renamed over them, as certbot and friends do.
    await copyFile(renewed.key, `${keyFile}.new`);
    await copyFile(renewed.cert, `${certFile}.new`);
    await rename(`${keyFile}.new`, keyFile);
    await rename(`${certFile}.new`, certFile);
    await row("www.app.test").filter({ hasText: "subject CN=app.test" }).waitFor();
    await eventually(
      () => teal.logs.some((l) => String(l.msg).includes("proxy.tls: certificate files changed")),
      "the listener's reload",
    );
  });
});
