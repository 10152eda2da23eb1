import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { DEFAULT_OPTIONS, MigrationDatabase } from "../../src/migrate/database.ts";
import { complete, rollback, start } from "../../src/migrate/engine.ts";
import { parseMigration } from "../../src/migrate/migration-files.ts";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";

let cluster: PostgresCluster;
before(async () => {
  cluster = await startPostgres();
});
after(() => cluster?.stop());

async function client(url: string, searchPath?: string): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: url,
    options: searchPath ? `-c search_path=${searchPath}` : undefined,
  });
  await c.connect();
  return c;
}

async function run<T>(url: string, fn: (db: MigrationDatabase) => Promise<T>): Promise<T> {
  const db = await MigrationDatabase.open(url, "test", { ...DEFAULT_OPTIONS, batchSize: 3 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

test("add column with a backfill: each version writes, the other reads it right; contract makes it NOT NULL", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL)");
  await setup.query("INSERT INTO items (title) SELECT 'item ' || i FROM generate_series(1, 10) i");
  const m = parseMigration(
    {
      operations: [
        {
          add_column: {
            table: "items",
            column: { name: "description", type: "text", nullable: false },
            up: "'about ' || title",
          },
        },
      ],
    },
    "002",
    "migrations/002.yaml",
  );
  const outcome = await run(url, (db) => start(db, [m]));
  assert.deepEqual(outcome, { kind: "expanded", migration: "002", schema: "teal_002", resumed: false });
  const oldApp = await client(url);
  const newApp = await client(url, "teal_002");
  const backfilled = await newApp.query("SELECT description FROM items WHERE id = 4");
  assert.equal(backfilled.rows[0].description, "about item 4");
  await oldApp.query("INSERT INTO items (title) VALUES ('from old')");
  assert.equal(
    (await newApp.query("SELECT description FROM items WHERE title = 'from old'")).rows[0].description,
    "about from old",
  );
  await newApp.query("INSERT INTO items (title, description) VALUES ('from new', 'written by new')");
  assert.equal((await oldApp.query("SELECT title FROM items WHERE title = 'from new'")).rowCount, 1);
  await oldApp.query("UPDATE items SET title = 'renamed' WHERE title = 'from new'");
  assert.equal(
    (await newApp.query("SELECT description FROM items WHERE title = 'renamed'")).rows[0].description,
    "written by new",
  );
  await assert.rejects(
    newApp.query("INSERT INTO items (title, description) VALUES ('x', NULL)"),
    /_teal_nn_description/,
  );

  assert.deepEqual(await run(url, (db) => complete(db)), {
    kind: "completed",
    migration: "002",
    schema: "teal_002",
  });
  const nn = await setup.query(
    "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'description'",
  );
  assert.equal(nn.rows[0].is_nullable, "NO");
  assert.equal((await newApp.query("SELECT count(*)::int AS n FROM items")).rows[0].n, 12);
  await Promise.all([setup.end(), oldApp.end(), newApp.end()]);
});
