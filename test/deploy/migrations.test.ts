/**
 * The deployment runs the service's schema migration (issue 17): a real teal server (process
 * runtime), a real PostgreSQL 15, and an app that reads its schema from the environment.
 */

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { finished, history, service, underLoad } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";
import { api, type Json, runCli, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

const PG = fileURLToPath(import.meta.resolve("pg"));

/** Answers `/` with its version, its schema variable and the search_path its connection got. */
const APP = `
import { createServer } from "node:http";
import pg from ${JSON.stringify(PG)};
const db = new pg.Client(process.env.DATABASE_URL);
db.on("error", () => {});
await db.connect();
const errorEvery = Number(process.env.APP_ERROR_EVERY ?? 0);
let served = 0;
createServer(async (req, res) => {
  const { rows } = await db.query("SHOW search_path");
  const health = req.url === "/health";
  const failing = health ? process.env.APP_HEALTH === "fail" : errorEvery > 0 && ++served % errorEvery === 0;
  res.writeHead(failing ? 500 : 200, { "content-type": "application/json" });
  res.end(JSON.stringify({ version: process.env.TEAL_VERSION, schema: process.env.TEAL_DB_SCHEMA ?? null, searchPath: rows[0].search_path }));
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

const MIGRATION = `operations:
  - add_column:
      table: items
      column: { name: description, type: text, nullable: false }
      up: "'about ' || title"
`;

let cluster: PostgresCluster;
before(async () => {
  cluster = await startPostgres();
});
after(() => cluster?.stop());

async function setup(scaleDownDelayMs: number, pauseAt?: string, strategy = "") {
  const url = await cluster.createDatabase();
  const dir = await tempDir();
  await mkdir(join(dir.path, "migrations"));
  await writeFile(join(dir.path, "app.mjs"), APP);
  await writeFile(join(dir.path, "db-url"), url);
  const db = new pg.Client(url);
  await db.connect();
  await db.query("CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL)");
  await db.query("INSERT INTO items (title) SELECT 'item ' || i FROM generate_series(1, 100) i");
  const config = `
proxy: { listen: 127.0.0.1:0, workers: 1 }
admin: { listen: 127.0.0.1:0 }
services:
  web:
    routes: [{ path: / }]
    runtime: { type: process, command: ["${process.execPath}", "app.mjs"], stopTimeoutMs: 2000 }
    health: { intervalMs: 50, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2, versionField: version }
    deployment: { scaleDownDelayMs: ${scaleDownDelayMs}, timeoutMs: 5000 }
    database: { urlFile: db-url, migrations: migrations }
${strategy}`;
  const env = { DATABASE_URL: url };
  if (pauseAt) process.env.TEAL_MIGRATE_PAUSE_AT = pauseAt;
  const teal = await startTeal(config, dir.path).finally(() => {
    delete process.env.TEAL_MIGRATE_PAUSE_AT;
  });
  return { url, dir, db, config, env, teal };
}

const deployWith = (teal: TealProcess, version: string, env: Record<string, string>) =>
  api(teal, "POST", "/v1/services/web/deployments", { version, env });

async function columns(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query(
    "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position",
  );
  return rows.map((r) => `${r.column_name}${r.is_nullable === "NO" ? " not null" : ""}`);
}

async function schemas(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query(
    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'teal\\_0%' ORDER BY 1",
  );
  return rows.map((r) => r.nspname);
}

const migrationOf = async (teal: TealProcess, seq: number) =>
  (await history(teal)).find((d: Json) => d.seq === seq)?.migration as Json | undefined;

describe("teal deploy runs the migration", () => {
  it("blue-green under load: expand before green starts, each color on its schema, contract once blue is retired", async () => {
    const { dir, db, env, teal } = await setup(4000);
    try {
      const first = await deployWith(teal, "v1", env);
      assert.equal((await finished(teal, first.body.deployment.seq)).outcome, "succeeded");
      await writeFile(join(dir.path, "migrations", "001_description.yaml"), MIGRATION);

      const { result: seq, traffic } = await underLoad(teal, async () => {
        const r = await deployWith(teal, "v2", env);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        const d = await finished(teal, r.body.deployment.seq);
        assert.equal(d.outcome, "succeeded", d.reason);
        return d.seq as number;
      });
      assert.equal(traffic.errors + traffic.non2xx, 0, "no request failed during the deploy");
      const d = (await history(teal)).find((x: Json) => x.seq === seq)!;
      // The API hides env values; the app's own answer below shows them.
      assert.ok("TEAL_DB_SCHEMA" in d.env && "PGOPTIONS" in d.env);
      const types = d.events.map((e: Json) => e.type);
      assert.ok(
        types.indexOf("migration") < types.indexOf("instance"),
        "the migration is expanded before the new color starts",
      );
      // The new version reads through its schema (PGOPTIONS reached its connection).
      const served = JSON.parse(await (await fetch(`${teal.proxyUrl}/`)).text());
      assert.deepEqual(served, {
        version: "v2",
        schema: "teal_001_description",
        searchPath: "teal_001_description,public",
      });
      // Both versions write; each reads the other's rows right, while blue is still warm.
      assert.equal((await service(teal)).colors.blue.instances.length, 1, "blue is still warm");
      {
        assert.equal((await migrationOf(teal, seq))?.phase, "expanded");
        const v2 = new pg.Client({
          connectionString: env.DATABASE_URL,
          options: "-c search_path=teal_001_description,public",
        });
        await v2.connect();
        await db.query("INSERT INTO items (title) VALUES ('from v1')");
        await v2.query("INSERT INTO items (title, description) VALUES ('from v2', 'written by v2')");
        const rows = (await v2.query("SELECT title, description FROM items WHERE id > 100 ORDER BY id")).rows;
        assert.deepEqual(rows, [
          { title: "from v1", description: "about from v1" },
          { title: "from v2", description: "written by v2" },
        ]);
        await v2.end();
      }
      // Past the scale-down delay: blue retired, the migration contracted.
      const m = await eventually(async () => {
        const x = await migrationOf(teal, seq);
        return x?.phase === "done" && x;
      }, "the contract after blue's retirement");
      assert.deepEqual(m, { name: "001_description", schema: "teal_001_description", phase: "done" });
      assert.equal((await service(teal)).colors.blue.instances.length, 0);
      assert.deepEqual(await columns(db), ["id not null", "title not null", "description not null"]);
      const { rows } = await db.query("SELECT count(*)::int AS n FROM items WHERE description IS NULL");
      assert.equal(rows[0].n, 0, "every row has its description");
      const h = (await history(teal)).find((x: Json) => x.seq === seq)!;
      const phases = h.events
        .filter((e: Json) => e.type === "migration" && e.data?.phase)
        .map((e: Json) => e.data.phase);
      assert.deepEqual(phases, ["expanding", "expanded", "contracting", "done"]);
      // teal status and teal history show the phase.
      const status = await runCli(["status", "--data-dir", dir.path]);
      assert.match(
        status.stdout,
        /migration 001_description done \(schema teal_001_description\)/,
        status.stdout + status.stderr,
      );
      const hist = await runCli(["history", "web", "--data-dir", dir.path]);
      assert.match(
        hist.stdout,
        /migration 001_description: done \(schema teal_001_description\)/,
        hist.stdout,
      );
      // And in --json, as the API's records carry it.
      const statusJson = await runCli(["status", "--json", "--data-dir", dir.path]);
      assert.equal(statusJson.code, 0, statusJson.stderr);
      assert.deepEqual(JSON.parse(statusJson.stdout).services[0].deployment.migration, m);
      const histJson = await runCli(["history", "web", "--json", "--data-dir", dir.path]);
      assert.equal(histJson.code, 0, histJson.stderr);
      assert.deepEqual(JSON.parse(histJson.stdout).deployments.find((x: Json) => x.seq === seq).migration, m);
      // `teal rollback` after contract is refused: v1's columns are gone.
      const rb = await api(teal, "POST", "/v1/services/web/rollback", {});
      assert.equal(rb.status, 409, JSON.stringify(rb.body));
      assert.match(rb.body.error.message, /contracted migration 001_description/);
    } finally {
      await teal.stop();
      await db.end();
      await dir.remove();
    }
  });

  it("an unsafe migration is refused before anything starts, naming the operation", async () => {
    const { dir, db, env, teal } = await setup(0);
    try {
      assert.equal(
        (await finished(teal, (await deployWith(teal, "v1", env)).body.deployment.seq)).outcome,
        "succeeded",
      );
      await writeFile(
        join(dir.path, "migrations", "001_drop.yaml"),
        "operations:\n  - sql: { up: 'ALTER TABLE items DROP COLUMN title', down: 'SELECT 1' }\n",
      );
      const before = (await history(teal)).length;
      const r = await deployWith(teal, "v2", env);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error.code, "UNSUPPORTED");
      assert.match(r.body.error.message, /001_drop\.yaml: operations\[0\]\.sql\.up: drop-outside-contract/);
      // The CLI: exit 1 (a refused request), the file, operation and rule, and no stack trace.
      const cli = await runCli(["deploy", "web", "--version", "v2", "--data-dir", dir.path]);
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      assert.match(
        cli.stderr,
        /^error: refused before anything started: migration 001_drop would break the running version or block its writes:\n.*001_drop\.yaml: operations\[0\]\.sql\.up: drop-outside-contract: .*\(fix: use a drop_table or drop_column operation.*\) \[UNSUPPORTED\]\n$/,
      );
      assert.doesNotMatch(cli.stderr, /\n\s+at /, "no stack trace");
      const json = await runCli(["deploy", "web", "--version", "v2", "--json", "--data-dir", dir.path]);
      assert.equal(json.code, 1, json.stdout + json.stderr);
      const { error } = JSON.parse(json.stdout);
      assert.equal(error.code, "UNSUPPORTED");
      assert.match(error.message, /001_drop\.yaml: operations\[0\]\.sql\.up: drop-outside-contract/);
      assert.equal((await history(teal)).length, before, "no deployment was recorded");
      assert.equal((await service(teal)).colors.green.instances.length, 0, "nothing started");
      assert.deepEqual(await columns(db), ["id not null", "title not null"]);
    } finally {
      await teal.stop();
      await db.end();
      await dir.remove();
    }
  });

  it("a deployment that fails rolls its expand back: the columns are as before", async () => {
    const { dir, db, env, teal } = await setup(0);
    try {
      assert.equal(
        (await finished(teal, (await deployWith(teal, "v1", env)).body.deployment.seq)).outcome,
        "succeeded",
      );
      await writeFile(join(dir.path, "migrations", "001_description.yaml"), MIGRATION);
      const r = await deployWith(teal, "v2", { ...env, APP_HEALTH: "fail" });
      const d = await finished(teal, r.body.deployment.seq);
      assert.equal(d.outcome, "failed");
      const m = await eventually(async () => {
        const x = await migrationOf(teal, d.seq);
        return x?.phase === "rolled_back" && x;
      }, "the expand's rollback");
      assert.equal(m.name, "001_description");
      assert.deepEqual(await columns(db), ["id not null", "title not null"]);
      assert.deepEqual(await schemas(db), []);
      assert.equal(JSON.parse(await (await fetch(`${teal.proxyUrl}/`)).text()).searchPath, '"$user", public');
    } finally {
      await teal.stop();
      await db.end();
      await dir.remove();
    }
  });

  it("a canary rolled back by analysis also rolls back its expand", async () => {
    const canary = `    strategy:
      canary:
        steps:
          - setWeight: 50
          - analysis: { duration: 3s }
    analysis:
      window: 2s
      checks:
        - { name: errors, metric: errorRate, max: 0.05, interval: 100ms, minRequests: 10 }
`;
    const { dir, db, env, teal } = await setup(60_000, undefined, canary);
    try {
      assert.equal(
        (await finished(teal, (await deployWith(teal, "v1", env)).body.deployment.seq)).outcome,
        "succeeded",
      );
      await writeFile(join(dir.path, "migrations", "001_description.yaml"), MIGRATION);
      const { result: d } = await underLoad(teal, async () => {
        const r = await deployWith(teal, "v2", { ...env, APP_ERROR_EVERY: "2" });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return finished(teal, r.body.deployment.seq);
      });
      assert.equal(d.outcome, "rolled_back", d.reason);
      assert.equal(d.rollbackCause, "analysis");
      const m = await eventually(async () => {
        const x = await migrationOf(teal, d.seq);
        return x?.phase === "rolled_back" && x;
      }, "the expand's rollback");
      assert.equal(m.name, "001_description");
      assert.deepEqual(await columns(db), ["id not null", "title not null"]);
      assert.deepEqual(await schemas(db), []);
      assert.equal(JSON.parse(await (await fetch(`${teal.proxyUrl}/`)).text()).version, "v1");
    } finally {
      await teal.stop();
      await db.end();
      await dir.remove();
    }
  });

  it("kill -9 of teal during expand: the restart rolls the expand back and the deployment says so", async () => {
    // The engine's test seam: teal stops at the checkpoint after expand's ddl step, as if it hung there.
    const { dir, db, env, config, teal: first } = await setup(0, "ddl");
    let teal = first;
    try {
      assert.equal(
        (await finished(teal, (await deployWith(teal, "v1", env)).body.deployment.seq)).outcome,
        "succeeded",
      );
      await writeFile(join(dir.path, "migrations", "001_description.yaml"), MIGRATION);
      const seq = (await deployWith(teal, "v2", env)).body.deployment.seq as number;
      await eventually(async () => {
        const { rows } = await db
          .query("SELECT step FROM teal_migrations.migrations WHERE name = '001_description'")
          .catch(() => ({ rows: [] as Json[] }));
        return rows[0]?.step === "ddl";
      }, "expand to pass its ddl step");
      assert.deepEqual(await columns(db), ["id not null", "title not null", "description"]);
      await teal.kill9();
      teal = await startTeal(config, dir.path);
      const d = await finished(teal, seq);
      assert.notEqual(d.outcome, "succeeded");
      const m = await eventually(async () => {
        const x = await migrationOf(teal, seq);
        return x?.phase === "rolled_back" && x;
      }, "the expand's rollback after the restart");
      assert.equal(m.name, "001_description");
      assert.deepEqual(await columns(db), ["id not null", "title not null"]);
      assert.deepEqual(await schemas(db), []);
      assert.equal(JSON.parse(await (await fetch(`${teal.proxyUrl}/`)).text()).version, "v1");
    } finally {
      await teal.stop();
      await db.end();
      await dir.remove();
    }
  });
});
