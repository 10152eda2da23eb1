import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import pg from "pg";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";
import { CLI_ARGS, runCli, tempDir } from "../support/teal-process.ts";

let cluster: PostgresCluster;
let dir: { path: string; remove: () => Promise<void> };
before(async () => {
  cluster = await startPostgres();
  dir = await tempDir("teal-migrate-");
});
after(async () => {
  await cluster?.stop();
  await dir?.remove();
});

const MIGRATION = `
operations:
  - add_column:
      table: items
      column: { name: description, type: text, nullable: false }
      up: "'about ' || title"
  - rename_column: { table: items, from: title, to: name }
`;

/** A database with 100 items and a migrations directory holding 002.yaml. */
async function setup(name: string): Promise<{ url: string; migrations: string; db: pg.Client }> {
  const url = await cluster.createDatabase();
  const db = new pg.Client(url);
  await db.connect();
  await db.query("CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL)");
  await db.query("INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i");
  const migrations = join(dir.path, name);
  await mkdir(migrations);
  await writeFile(join(migrations, "002.yaml"), MIGRATION);
  return { url, migrations, db };
}

function migrate(action: string, migrations: string, url: string, extra: string[] = []) {
  return runCli(["--json", "migrate", action, "--dir", migrations, "--database-env", "APP_DB", ...extra], {
    APP_DB: url,
  });
}

/** Runs `teal migrate start` until it pauses at `step` (the test seam), then kills it with SIGKILL. */
async function killAt(step: string, migrations: string, url: string, action = "start"): Promise<void> {
  const extra = action === "start" ? ["--batch-size", "10"] : [];
  const child = spawn(
    process.execPath,
    [...CLI_ARGS, "migrate", action, "--dir", migrations, "--database-env", "APP_DB", ...extra],
    {
      env: { ...process.env, APP_DB: url, TEAL_MIGRATE_PAUSE_AT: step },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const exited = once(child, "exit");
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on("line", (line) => {
      lines.push(line);
      if (line === `paused at ${step}`) resolve();
    });
    exited.then(() => reject(new Error(`teal migrate exited before pausing:\n${lines.join("\n")}`)));
  });
  child.kill("SIGKILL");
  await exited;
}

test("killed in the middle of a backfill: status tells where it stopped, start resumes and finishes it", async () => {
  const { url, migrations, db } = await setup("backfill");
  await killAt("backfill-batch:3", migrations, url);

  const status = await migrate("status", migrations, url);
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  assert.deepEqual(
    { name: s.active.name, phase: s.active.phase, step: s.active.step, backfills: s.active.backfills },
    {
      name: "002",
      phase: "expanding",
      step: "indexes",
      backfills: [{ table: "items", lastKey: "30", rowsDone: 30, done: false }],
    },
  );
  const human = await runCli(["migrate", "status", "--dir", migrations, "--database-env", "APP_DB"], {
    APP_DB: url,
  });
  assert.match(
    human.stdout,
    /in flight: 002 \(expanding after step indexes\); versions: public \(old\) and teal_002 \(new\)/,
  );
  assert.match(human.stdout, /backfill items: 30 rows, up to key 30/);

  // The old version keeps writing while the migration is down: the trigger already fills its rows.
  await db.query("INSERT INTO items VALUES (101, 'late')");
  const resumed = await migrate("start", migrations, url);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout), {
    kind: "expanded",
    migration: "002",
    schema: "teal_002",
    resumed: true,
  });
  const v2 = new pg.Client({ connectionString: url, options: "-c search_path=teal_002" });
  await v2.connect();
  const wrong = await v2.query("SELECT id FROM items WHERE description IS DISTINCT FROM 'about ' || name");
  assert.deepEqual(wrong.rows, []);
  assert.equal((await v2.query("SELECT count(*)::int AS n FROM items")).rows[0].n, 101);
  const rowsDone = JSON.parse((await migrate("status", migrations, url)).stdout);
  assert.equal(rowsDone.migrations[0].phase, "expanded");

  const done = await migrate("complete", migrations, url);
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual((await v2.query("SELECT name, description FROM items WHERE id = 101")).rows, [
    { name: "late", description: "about late" },
  ]);
  await Promise.all([v2.end(), db.end()]);
});

test("killed in the middle of expand: status tells the step, rollback undoes it, start runs it again", async () => {
  const { url, migrations, db } = await setup("expand");
  await killAt("ddl", migrations, url);
  const s = JSON.parse((await migrate("status", migrations, url)).stdout);
  assert.deepEqual({ phase: s.active.phase, step: s.active.step }, { phase: "expanding", step: "ddl" });

  const rolled = await migrate("rollback", migrations, url);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.deepEqual(JSON.parse(rolled.stdout), { kind: "rolled-back", migration: "002", schema: "teal_002" });
  const columns = await db.query(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position",
  );
  assert.deepEqual(columns.rows, [{ column_name: "id" }, { column_name: "title" }]);

  // A rollback killed half way is finished by running it again.
  await killAt("ddl", migrations, url);
  const child = spawn(
    process.execPath,
    [...CLI_ARGS, "migrate", "rollback", "--dir", migrations, "--database-env", "APP_DB"],
    {
      env: { ...process.env, APP_DB: url, TEAL_MIGRATE_PAUSE_AT: "rolling_back" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const [line] = (await once(createInterface({ input: child.stderr! }), "line")) as [string];
  assert.equal(line, "paused at rolling_back");
  child.kill("SIGKILL");
  await once(child, "exit");
  const half = JSON.parse((await migrate("status", migrations, url)).stdout);
  assert.equal(half.active.phase, "rolling_back");
  const refused = await migrate("start", migrations, url);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /half rolled back: run `teal migrate rollback` to finish it/);
  assert.equal((await migrate("rollback", migrations, url)).code, 0);

  const again = await migrate("start", migrations, url);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).resumed, false);
  await db.end();
});

test("a rollback killed after its undo committed is finished by running it again (an sql down runs once)", async () => {
  const { url, migrations, db } = await setup("rollback-twice");
  await writeFile(
    join(migrations, "002.yaml"),
    "operations:\n  - sql: { up: 'CREATE TABLE audit (id int PRIMARY KEY)', down: 'DROP TABLE audit' }\n",
  );
  assert.equal((await migrate("start", migrations, url)).code, 0);
  await killAt("rollback-undone", migrations, url, "rollback");
  const again = await migrate("rollback", migrations, url);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const s = JSON.parse((await migrate("status", migrations, url)).stdout);
  assert.deepEqual(
    s.migrations.map((m: { phase: string }) => m.phase),
    ["rolled_back"],
  );
  assert.equal((await db.query("SELECT to_regclass('public.audit') AS t")).rows[0].t, null);
  await db.end();
});

test("errors name the file, the operation and the field; the connection string is never printed", async () => {
  const { url, migrations, db } = await setup("errors");
  await writeFile(
    join(migrations, "003.yaml"),
    "operations:\n  - rename_column: { table: items, from: titel, to: label }\n",
  );
  const started = await migrate("start", migrations, url);
  assert.equal(started.code, 0, started.stderr);
  assert.equal((await migrate("complete", migrations, url)).code, 0);
  const unknown = await runCli(["migrate", "start", "--dir", migrations, "--database-env", "APP_DB"], {
    APP_DB: url,
  });
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /003\.yaml: operations\[0\]\.rename_column\.from: table items has no column titel/,
  );

  await writeFile(
    join(migrations, "003.yaml"),
    "operations:\n  - add_column: { table: items, column: { name: Bad } }\n",
  );
  const invalid = await runCli(["migrate", "status", "--dir", migrations, "--database-env", "APP_DB"], {
    APP_DB: url,
  });
  assert.equal(invalid.code, 2);
  assert.match(
    invalid.stderr,
    /003\.yaml: operations\[0\]\.add_column\.column\.name: must be a lower-case SQL name/,
  );
  assert.match(invalid.stderr, /003\.yaml: operations\[0\]\.add_column\.column\.type: is required/);
  assert.doesNotMatch(invalid.stderr, /\n\s+at /);

  const secret = "postgres://app:s3cret-pw@127.0.0.1:1/nowhere";
  await writeFile(join(migrations, "003.yaml"), "operations:\n  - drop_table: { table: items }\n");
  const down = await runCli(["migrate", "status", "--dir", migrations, "--database-env", "APP_DB"], {
    APP_DB: secret,
  });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot connect to the database named by \$APP_DB/);
  assert.doesNotMatch(down.stderr + down.stdout, /s3cret/);
  const unset = await runCli(["migrate", "start", "--dir", migrations, "--database-env", "NOT_SET_ANYWHERE"]);
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /\$NOT_SET_ANYWHERE is not set/);
  await db.end();
});

test("start refuses a migration lint flags, naming the operation, unless --allow-unsafe", async () => {
  const { url, migrations, db } = await setup("unsafe");
  await writeFile(
    join(migrations, "002.yaml"),
    "operations:\n  - sql: { up: 'ALTER TABLE items DROP COLUMN title' }\n",
  );
  const refused = await runCli(["migrate", "start", "--dir", migrations, "--database-env", "APP_DB"], {
    APP_DB: url,
  });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /002\.yaml: operations\[0\]\.sql\.up: drop-outside-contract/);
  assert.equal(
    (await db.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'items'"))
      .rows[0].n,
    2,
  );
  await db.end();
});
