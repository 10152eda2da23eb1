/**
 * The dashboard's migration view in a real Chromium (issue 17): a service with a PostgreSQL
 * database (a real PostgreSQL 15) deploys versions that bring schema migrations; the service card
 * and the history entry show the migration's phase as it moves, the way a user sees the page.
 */

import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { deploy, finished } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";
import { api, processServiceConfig, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

// Each version waits at 50% until the test promotes or aborts it, so the page can be read while
// the migration is expanded; the old color retires 1 s after the promotion.
const SERVICE = `    deployment: { scaleDownDelayMs: 1000, drainTimeoutMs: 2000 }
    database: { urlFile: db-url, migrations: migrations }
    strategy:
      canary:
        steps:
          - setWeight: 50
          - pause: {}`;

const DESCRIPTION = `operations:
  - add_column:
      table: items
      column: { name: description, type: text, nullable: false }
      up: "'about ' || title"
`;
const NOTE = "operations:\n  - add_column: { table: items, column: { name: note, type: text } }\n";

describe("the dashboard shows a deployment's schema migration as it moves", () => {
  let cluster: PostgresCluster;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let browser: Browser;
  let page: Page;
  const card = () => page.getByTestId("migration-web");
  const entry = (seq: number) => page.getByTestId(`migration-${seq}`);
  const phaseOf = async (seq: number) =>
    (await api(teal, "GET", "/v1/services/web/deployments")).body.deployments.find(
      (d: { seq: number }) => d.seq === seq,
    )?.migration?.phase as string | undefined;

  before(async () => {
    cluster = await startPostgres();
    dir = await tempDir();
    const url = await cluster.createDatabase();
    const db = new pg.Client(url);
    await db.connect();
    await db.query("CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL)");
    await db.query("INSERT INTO items (title) SELECT 'item ' || i FROM generate_series(1, 100) i");
    await db.end();
    await writeFile(join(dir.path, "db-url"), url);
    await mkdir(join(dir.path, "migrations"));
    browser = await launchChromium();
    teal = await startTeal(processServiceConfig(SERVICE), dir.path);
    await finished(teal, await deploy(teal, "v1"));
    page = await browser.newPage();
    const view = (await readFile(join(dir.path, "view.token"), "utf8")).trim();
    await page.goto(`${teal.adminUrl}/#view=${view}`);
    await page.getByTestId("live-web").filter({ hasText: "live: blue v1" }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await teal?.stop();
    await dir?.remove();
    await cluster?.stop();
  });

  it("expanded while both versions run, then done once the old version is retired", async () => {
    await writeFile(join(dir.path, "migrations", "001_description.yaml"), DESCRIPTION);
    const seq = await deploy(teal, "v2");
    const expanded = "migration 001_description: expanded (schema teal_001_description)";
    await card().filter({ hasText: expanded }).waitFor();
    await page.getByTestId("rollout-web").filter({ hasText: "Waiting for: teal promote" }).waitFor();
    await entry(seq).filter({ hasText: expanded }).waitFor();

    assert.equal((await api(teal, "POST", "/v1/services/web/promote", { full: true })).status, 200);
    assert.equal((await finished(teal, seq)).outcome, "succeeded");
    await eventually(async () => (await phaseOf(seq)) === "done", "the contract", 20_000);
    const done = "migration 001_description: done (schema teal_001_description)";
    await card().filter({ hasText: done }).waitFor();
    // The history entry follows too, though the deployment itself ended before the contract.
    await entry(seq).filter({ hasText: done }).waitFor();
  });

  it("rolled back when the deployment that expanded it is aborted", async () => {
    await writeFile(join(dir.path, "migrations", "002_note.yaml"), NOTE);
    const seq = await deploy(teal, "v3");
    await card().filter({ hasText: "migration 002_note: expanded (schema teal_002_note)" }).waitFor();
    await page.getByTestId("rollout-web").filter({ hasText: "Waiting for: teal promote" }).waitFor();
    assert.equal((await api(teal, "POST", "/v1/services/web/abort", {})).status, 202);
    const d = await finished(teal, seq);
    assert.equal(d.outcome, "rolled_back", d.reason);
    await eventually(async () => (await phaseOf(seq)) === "rolled_back", "the expand's rollback", 20_000);
    const rolledBack = "migration 002_note: rolled back (schema teal_002_note)";
    await card().filter({ hasText: rolledBack }).waitFor();
    await entry(seq).filter({ hasText: rolledBack }).waitFor();
    // The earlier, contracted migration keeps its own entry.
    await entry(seq - 1)
      .filter({ hasText: "migration 001_description: done" })
      .waitFor();
  });
});
