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
  // A derived value follows the old version's update; the new version's own value stays.
  await oldApp.query("UPDATE items SET title = 'retitled' WHERE id = 4");
  assert.equal(
    (await newApp.query("SELECT description FROM items WHERE id = 4")).rows[0].description,
    "about retitled",
  );
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
    "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' AND column_name = 'description'",
  );
  assert.equal(nn.rows[0].is_nullable, "NO");
  assert.equal((await newApp.query("SELECT count(*)::int AS n FROM items")).rows[0].n, 12);
  await Promise.all([setup.end(), oldApp.end(), newApp.end()]);
});

function migration(name: string, operations: unknown[]) {
  return parseMigration({ operations }, name, `migrations/${name}.yaml`);
}

async function rows(c: pg.Client, sql: string, params: unknown[] = []) {
  return (await c.query(sql, params)).rows;
}

test("rename a column, then change its type: both versions write and each reads the other's rows", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE orders (id bigserial PRIMARY KEY, amt text)");
  await setup.query("INSERT INTO orders (amt) SELECT i::text FROM generate_series(1, 7) i");
  const m2 = migration("002", [{ rename_column: { table: "orders", from: "amt", to: "amount" } }]);
  const m3 = migration("003", [
    {
      alter_column: {
        table: "orders",
        column: "amount",
        type: "integer",
        up: "amount::integer",
        down: "amount::text",
      },
    },
  ]);
  await run(url, (db) => start(db, [m2, m3]));
  const v1 = await client(url);
  const v2 = await client(url, "teal_002");
  await v1.query("INSERT INTO orders (amt) VALUES ('100')");
  await v2.query("INSERT INTO orders (amount) VALUES ('200')");
  assert.deepEqual(await rows(v2, "SELECT amount FROM orders WHERE id > 7 ORDER BY id"), [
    { amount: "100" },
    { amount: "200" },
  ]);
  assert.deepEqual(await rows(v1, "SELECT amt FROM orders WHERE id > 7 ORDER BY id"), [
    { amt: "100" },
    { amt: "200" },
  ]);
  await run(url, (db) => complete(db));
  await v1.end();
  assert.deepEqual(
    await rows(
      setup,
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'orders' ORDER BY ordinal_position",
    ),
    [{ column_name: "id" }, { column_name: "amount" }],
  );

  // 003 runs with v2 (schema teal_002) as the old version and v3 (teal_003) as the new one.
  assert.equal((await run(url, (db) => start(db, [m2, m3]))).kind, "expanded");
  const v3 = await client(url, "teal_003");
  assert.deepEqual(await rows(v3, "SELECT amount FROM orders WHERE id = 3"), [{ amount: 3 }]);
  await v2.query("INSERT INTO orders (amount) VALUES ('300')");
  await v3.query("INSERT INTO orders (amount) VALUES (400)");
  await v2.query("UPDATE orders SET amount = '5000' WHERE id = 5");
  await v3.query("UPDATE orders SET amount = amount + 1 WHERE id = 6");
  assert.deepEqual(await rows(v3, "SELECT id, amount FROM orders WHERE id IN (5, 6) OR id > 9 ORDER BY id"), [
    { id: "5", amount: 5000 },
    { id: "6", amount: 7 },
    { id: "10", amount: 300 },
    { id: "11", amount: 400 },
  ]);
  assert.deepEqual(await rows(v2, "SELECT id, amount FROM orders WHERE id IN (5, 6) OR id > 9 ORDER BY id"), [
    { id: "5", amount: "5000" },
    { id: "6", amount: "7" },
    { id: "10", amount: "300" },
    { id: "11", amount: "400" },
  ]);
  await run(url, (db) => complete(db));
  assert.deepEqual(
    await rows(setup, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'teal_0%' ORDER BY 1"),
    [{ nspname: "teal_003" }],
  );
  assert.deepEqual(
    await rows(
      setup,
      "SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'orders' AND column_name = 'amount'",
    ),
    [{ data_type: "integer" }],
  );
  assert.deepEqual(await rows(v3, "SELECT amount FROM orders WHERE id = 11"), [{ amount: 400 }]);
  await Promise.all([setup.end(), v2.end(), v3.end()]);
});

test("set NOT NULL: the old version's NULLs get the up value; the contract makes it a real NOT NULL", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE users (id int PRIMARY KEY, email text)");
  await setup.query(
    "INSERT INTO users SELECT i, CASE WHEN i % 2 = 0 THEN NULL ELSE 'u' || i || '@x' END FROM generate_series(1, 8) i",
  );
  await run(url, (db) =>
    start(db, [
      migration("002", [{ set_not_null: { table: "users", column: "email", up: "'unknown-' || id" } }]),
    ]),
  );
  const v1 = await client(url);
  const v2 = await client(url, "teal_002");
  await v1.query("INSERT INTO users VALUES (100, NULL)");
  assert.deepEqual(await rows(v2, "SELECT email FROM users WHERE id IN (2, 3, 100) ORDER BY id"), [
    { email: "unknown-2" },
    { email: "u3@x" },
    { email: "unknown-100" },
  ]);
  await assert.rejects(v2.query("INSERT INTO users VALUES (101, NULL)"), /_teal_nn_email/);
  assert.deepEqual(
    await rows(setup, "SELECT convalidated FROM pg_constraint WHERE conname = '_teal_nn_email'"),
    [{ convalidated: true }],
  );
  await run(url, (db) => complete(db));
  assert.deepEqual(
    await rows(
      setup,
      "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'email'",
    ),
    [{ is_nullable: "NO" }],
  );
  assert.deepEqual(
    await rows(setup, "SELECT count(*)::int AS n FROM pg_constraint WHERE conname LIKE '_teal%'"),
    [{ n: 0 }],
  );
  await Promise.all([setup.end(), v1.end(), v2.end()]);
});

test("constraints and indexes: added NOT VALID or CONCURRENTLY, validated, enforced for both versions", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE teams (id int PRIMARY KEY)");
  await setup.query("CREATE TABLE players (id int PRIMARY KEY, team int, score int, nick text)");
  await setup.query("INSERT INTO teams VALUES (1), (2)");
  await setup.query("INSERT INTO players SELECT i, 1 + i % 2, i, 'p' || i FROM generate_series(1, 20) i");
  await run(url, (db) =>
    start(db, [
      migration("002", [
        { add_constraint: { table: "players", name: "score_positive", check: "score > 0" } },
        {
          add_constraint: {
            table: "players",
            name: "players_team_fk",
            foreign_key: { columns: ["team"], references: { table: "teams", columns: ["id"] } },
          },
        },
        { add_constraint: { table: "players", name: "players_nick_key", unique: ["nick"] } },
        { create_index: { table: "players", name: "players_score_idx", columns: ["score"] } },
      ]),
    ]),
  );
  assert.deepEqual(
    await rows(
      setup,
      "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'players'::regclass AND contype <> 'p' ORDER BY 1",
    ),
    [
      { conname: "players_nick_key", convalidated: true },
      { conname: "players_team_fk", convalidated: true },
      { conname: "score_positive", convalidated: true },
    ],
  );
  assert.deepEqual(
    await rows(setup, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'players_score_idx'::regclass"),
    [{ indisvalid: true }],
  );
  const v1 = await client(url);
  const v2 = await client(url, "teal_002");
  await assert.rejects(v1.query("INSERT INTO players VALUES (50, 1, -1, 'neg')"), /score_positive/);
  await assert.rejects(v2.query("INSERT INTO players VALUES (51, 9, 1, 'noteam')"), /players_team_fk/);
  await assert.rejects(v2.query("INSERT INTO players VALUES (52, 1, 1, 'p1')"), /players_nick_key/);
  await v2.query("INSERT INTO players VALUES (53, 2, 3, 'ok')");
  assert.equal((await rows(v1, "SELECT nick FROM players WHERE id = 53"))[0].nick, "ok");

  // Rolled back: the constraints and the index are gone and the old version writes what it could before.
  await run(url, (db) => rollback(db));
  await v1.query("INSERT INTO players VALUES (54, 9, -1, 'p1')");
  assert.deepEqual(
    await rows(setup, "SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'players'"),
    [{ n: 1 }],
  );
  await Promise.all([setup.end(), v1.end(), v2.end()]);
});

test("create a table, drop a column and a table: each version sees only its own; contract drops the old", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE posts (id int PRIMARY KEY, body text, legacy_flag int NOT NULL)");
  await setup.query("CREATE TABLE old_stats (id int PRIMARY KEY)");
  await setup.query("INSERT INTO posts VALUES (1, 'hello', 1)");
  await run(url, (db) =>
    start(db, [
      migration("002", [
        {
          create_table: {
            table: "tags",
            columns: [
              { name: "id", type: "serial", primary_key: true },
              { name: "post", type: "int", references: { table: "posts", column: "id" } },
              { name: "label", type: "text", nullable: false },
            ],
          },
        },
        { drop_column: { table: "posts", column: "legacy_flag", down: "0" } },
        { drop_table: { table: "old_stats" } },
      ]),
    ]),
  );
  const v1 = await client(url);
  const v2 = await client(url, "teal_002");
  await v2.query("INSERT INTO posts (id, body) VALUES (2, 'from new')");
  await v2.query("INSERT INTO tags (post, label) VALUES (2, 'news')");
  assert.deepEqual(await rows(v1, "SELECT legacy_flag FROM posts WHERE id = 2"), [{ legacy_flag: 0 }]);
  await assert.rejects(v2.query("SELECT legacy_flag FROM posts"), /column "legacy_flag" does not exist/);
  await assert.rejects(v2.query("SELECT * FROM old_stats"), /relation "old_stats" does not exist/);
  await v1.query("INSERT INTO old_stats VALUES (1)");
  await run(url, (db) => complete(db));
  await assert.rejects(setup.query("SELECT * FROM old_stats"), /does not exist/);
  await assert.rejects(setup.query("SELECT legacy_flag FROM posts"), /does not exist/);
  assert.deepEqual(await rows(v2, "SELECT p.body, t.label FROM posts p JOIN tags t ON t.post = p.id"), [
    { body: "from new", label: "news" },
  ]);
  await Promise.all([setup.end(), v1.end(), v2.end()]);
});

test("rollback undoes an expand: the old version's database is as before, and start works again", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE items (id int PRIMARY KEY, price text)");
  await setup.query("INSERT INTO items SELECT i, i::text FROM generate_series(1, 5) i");
  const before = await rows(
    setup,
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
  );
  const m = migration("002", [
    {
      alter_column: {
        table: "items",
        column: "price",
        type: "numeric",
        up: "price::numeric",
        down: "price::text",
      },
    },
    { add_column: { table: "items", column: { name: "note", type: "text" }, up: "'n'" } },
    { sql: { up: "CREATE TABLE audit (id int PRIMARY KEY)", down: "DROP TABLE audit" } },
  ]);
  await run(url, (db) => start(db, [m]));
  assert.deepEqual(await run(url, (db) => rollback(db)), {
    kind: "rolled-back",
    migration: "002",
    schema: "teal_002",
  });
  assert.deepEqual(
    await rows(
      setup,
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    ),
    before,
  );
  assert.deepEqual(
    await rows(setup, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'teal_002'"),
    [{ n: 0 }],
  );
  assert.deepEqual(
    await rows(setup, "SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE '_teal%'"),
    [{ n: 0 }],
  );
  await setup.query("INSERT INTO items VALUES (6, '6')");
  assert.equal((await run(url, (db) => start(db, [m]))).kind, "expanded");
  const v2 = await client(url, "teal_002");
  assert.deepEqual(await rows(v2, "SELECT price, note FROM items WHERE id = 2"), [{ price: "2", note: "n" }]);
  // The table the raw SQL created is in the new version's schema too.
  await v2.query("INSERT INTO audit VALUES (1)");
  await Promise.all([setup.end(), v2.end()]);
});

test("both versions write at the same time, during and after the expand: every row reads the same in both", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE accounts (id serial PRIMARY KEY, balance text NOT NULL)");
  await setup.query("INSERT INTO accounts (balance) SELECT (i * 10)::text FROM generate_series(1, 2000) i");
  const v1 = await client(url);
  const writesOld = async (count: number) => {
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) await v1.query("INSERT INTO accounts (balance) VALUES ($1)", [String(i)]);
      else
        await v1.query("UPDATE accounts SET balance = (balance::int + 1)::text WHERE id = $1", [
          1 + ((i * 37) % 2000),
        ]);
    }
  };
  const m = migration("002", [
    {
      alter_column: {
        table: "accounts",
        column: "balance",
        type: "integer",
        up: "balance::integer",
        down: "balance::text",
      },
    },
    {
      add_column: {
        table: "accounts",
        column: { name: "currency", type: "text", nullable: false },
        up: "'EUR'",
      },
    },
  ]);
  await Promise.all([writesOld(300), run(url, (db) => start(db, [m]))]);
  const v2 = await client(url, "teal_002");
  const writesNew = async (count: number) => {
    for (let i = 0; i < count; i++) {
      if (i % 2 === 0) await v2.query("INSERT INTO accounts (balance, currency) VALUES ($1, 'USD')", [i]);
      else await v2.query("UPDATE accounts SET balance = balance + 5 WHERE id = $1", [1 + ((i * 53) % 2000)]);
    }
  };
  await Promise.all([writesOld(300), writesNew(300)]);

  const seenOld = await rows(v1, "SELECT id, balance FROM accounts ORDER BY id");
  const seenNew = await rows(v2, "SELECT id, balance, currency FROM accounts ORDER BY id");
  assert.equal(seenOld.length, 2000 + 150 + 150 + 150);
  assert.deepEqual(
    seenNew.map((r) => ({ id: r.id, balance: String(r.balance) })),
    seenOld,
  );
  const currencies = await rows(
    v2,
    "SELECT currency, count(*)::int AS n FROM accounts GROUP BY 1 ORDER BY 1",
  );
  assert.deepEqual(currencies, [
    { currency: "EUR", n: 2300 },
    { currency: "USD", n: 150 },
  ]);
  await Promise.all([setup.end(), v1.end(), v2.end()]);
});

test("alter a column's constraints only (no type): the new column keeps the old type and becomes NOT NULL", async () => {
  const url = await cluster.createDatabase();
  const setup = await client(url);
  await setup.query("CREATE TABLE notes (id int PRIMARY KEY, body varchar(40))");
  await setup.query("INSERT INTO notes VALUES (1, 'one'), (2, NULL)");
  await run(url, (db) =>
    start(db, [
      migration("002", [
        {
          alter_column: {
            table: "notes",
            column: "body",
            nullable: false,
            up: "coalesce(body, '')",
            down: "body",
          },
        },
      ]),
    ]),
  );
  const v1 = await client(url);
  const v2 = await client(url, "teal_002");
  await v1.query("INSERT INTO notes VALUES (3, NULL)");
  assert.deepEqual(await rows(v2, "SELECT id, body FROM notes ORDER BY id"), [
    { id: 1, body: "one" },
    { id: 2, body: "" },
    { id: 3, body: "" },
  ]);
  await assert.rejects(v2.query("INSERT INTO notes VALUES (4, NULL)"), /_teal_nn__teal_new_body/);
  await run(url, (db) => complete(db));
  assert.deepEqual(
    await rows(
      setup,
      "SELECT data_type, character_maximum_length AS len, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'notes' AND column_name = 'body'",
    ),
    [{ data_type: "character varying", len: 40, is_nullable: "NO" }],
  );
  await Promise.all([setup.end(), v1.end(), v2.end()]);
});
