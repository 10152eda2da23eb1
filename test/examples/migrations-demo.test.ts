/**
 * examples/migrations-demo end to end, as its README walk-through tells a user to run it: a real
 * PostgreSQL 15, the example's schema.sql through psql, a real `teal server` from the example's
 * own teal.yaml (ports and the scale-down delay overridden) running the example's app.mjs, and
 * the CLI. v1 goes live before the migration; v2 brings 001_description as a canary held at 50%:
 * both versions write and read the same rows at the same time, then v2 is promoted, v1 retires
 * and the contract makes `description` NOT NULL.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, readFile, rename, symlink } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { eventually } from "../support/eventually.ts";
import { type PostgresCluster, startPostgres } from "../support/postgres.ts";
import { api, type Json, runCli, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/migrations-demo/", import.meta.url));
const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));
const MIGRATION = "001_description";
const SCHEMA = `teal_${MIGRATION}`;

let cluster: PostgresCluster;
before(async () => {
  cluster = await startPostgres();
});
after(() => cluster?.stop());

/** The example's teal.yaml as a test runs it: ports chosen by the OS, v1 warm for 2 s, not 60. */
async function exampleConfig(dir: string): Promise<string> {
  const yaml = await readFile(join(dir, "teal.yaml"), "utf8");
  const config = yaml
    .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")
    .replace("listen: 127.0.0.1:7070", "listen: 127.0.0.1:0")
    .replace("scaleDownDelayMs: 60000", "scaleDownDelayMs: 2000");
  assert.equal((config.match(/127\.0\.0\.1:0\b/g) ?? []).length, 2, "both listen lines overridden");
  assert.match(config, /scaleDownDelayMs: 2000/);
  return config;
}

interface Answer {
  readonly status: number;
  readonly body: Json;
}

/** One request through teal's proxy; `pin` is the override header's value (stable = v1, canary = v2). */
async function request(teal: TealProcess, method: string, path: string, pin?: "stable" | "canary") {
  const res = await fetch(teal.proxyUrl + path, {
    method,
    headers: pin ? { "x-teal-color": pin } : {},
  });
  return { status: res.status, body: (await res.json()) as Json } satisfies Answer;
}

const itemsService = async (teal: TealProcess) => (await api(teal, "GET", "/v1/services/items")).body;
const deployments = async (teal: TealProcess) =>
  (await api(teal, "GET", "/v1/services/items/deployments")).body.deployments as Json[];

it("the migrations demo: v1 and v2 write and read the same rows during the canary, the contract makes description NOT NULL", async () => {
  const url = await cluster.createDatabase();
  const dir = await tempDir("teal-example-");
  await cp(EXAMPLE, dir.path, { recursive: true });
  // The app imports `pg`, which a user's checkout has in its node_modules.
  await symlink(NODE_MODULES, join(dir.path, "node_modules"));
  const db = new pg.Client(url);
  await db.connect();
  let teal: TealProcess | undefined;
  try {
    // psql "$APP_DATABASE_URL" -f examples/migrations-demo/schema.sql
    await promisify(execFile)("psql", [
      url,
      "-v",
      "ON_ERROR_STOP=1",
      "-q",
      "-f",
      join(dir.path, "schema.sql"),
    ]);
    // v1 runs before the migration: its file comes with v2.
    const aside = join(dir.path, `${MIGRATION}.yaml`);
    const file = join(dir.path, "migrations", `${MIGRATION}.yaml`);
    await rename(file, aside);
    process.env.APP_DATABASE_URL = url;
    teal = await startTeal(await exampleConfig(dir.path), dir.path);
    const cli = (...args: string[]) => runCli([...args, "--data-dir", dir.path]);

    const v1 = await cli("deploy", "items", "--version", "v1");
    assert.equal(v1.code, 0, v1.stdout + v1.stderr);
    assert.match(v1.stdout, /items v1 is live on blue/);
    assert.deepEqual((await request(teal, "GET", "/items/7")).body, {
      version: "v1",
      item: { id: 7, title: "item 7" },
    });

    await rename(aside, file);
    const validate = await cli("validate", "--config", join(dir.path, "teal.yaml"));
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    assert.doesNotMatch(validate.stderr, /database\.migrations/, "the lint flags nothing");

    const v2 = await cli("deploy", "items", "--version", "v2", "--no-wait");
    assert.equal(v2.code, 0, v2.stdout + v2.stderr);
    const seq = Number(/#(\d+) accepted/.exec(v2.stdout)?.[1]);
    // The canary holds at 50% until `teal promote items`: both versions serve meanwhile.
    await eventually(
      async () => {
        const d = (await itemsService(teal!)).deployment;
        return d?.seq === seq && d.rollout?.waiting && d.migration?.phase === "expanded";
      },
      "v2's canary to wait at 50% with the migration expanded",
      30_000,
    );

    // Both versions write and read at the same time: pinned to each color, and unpinned (split).
    const pins = ["stable", "canary", undefined] as const;
    const written: Json[] = [];
    const answers: Answer[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (writer) => {
        for (let k = 0; k < 30; k++) {
          const pin = pins[(writer + k) % 3];
          const post = await request(teal!, "POST", `/items?title=w${writer}-${k}`, pin);
          answers.push(post);
          if (post.status === 200) written.push({ ...post.body.item, by: post.body.version });
          answers.push(await request(teal!, "GET", "/items", pins[(writer + k + 1) % 3]));
        }
      }),
    );
    const failed = answers.filter((a) => a.status !== 200);
    assert.deepEqual(failed, [], "no request failed while both versions ran");
    const by = (v: string) => written.filter((w) => w.by === v);
    assert.ok(
      by("v1").length >= 40 && by("v2").length >= 40,
      `v1 wrote ${by("v1").length}, v2 ${by("v2").length}`,
    );
    for (const a of answers.filter((x) => x.body.items)) {
      for (const item of a.body.items as Json[]) {
        if (a.body.version === "v1") assert.deepEqual(Object.keys(item), ["id", "title"]);
        else assert.equal(typeof item.description, "string", `v2 lists item ${item.id} with its description`);
      }
    }

    // Every row, whoever wrote it, reads right through the other version.
    const expectedDescription = (w: Json) => (w.by === "v1" ? `about ${w.title}` : "written by v2");
    for (const w of written) {
      const old = await request(teal, "GET", `/items/${w.id}`, "stable");
      assert.deepEqual(old.body, { version: "v1", item: { id: w.id, title: w.title } });
      const next = await request(teal, "GET", `/items/${w.id}`, "canary");
      assert.deepEqual(next.body, {
        version: "v2",
        item: { id: w.id, title: w.title, description: expectedDescription(w) },
      });
    }
    // The rows from before the migration were backfilled.
    assert.deepEqual((await request(teal, "GET", "/items/7", "canary")).body, {
      version: "v2",
      item: { id: 7, title: "item 7", description: "about item 7" },
    });
    const status = await cli("status");
    assert.match(status.stdout, new RegExp(`migration ${MIGRATION} expanded \\(schema ${SCHEMA}\\)`));

    // Promote: v2 takes all traffic, v1 stays warm 2 s, retires, and the migration is contracted.
    const promote = await cli("promote", "items");
    assert.equal(promote.code, 0, promote.stdout + promote.stderr);
    const done = await eventually(
      async () => {
        const d = (await deployments(teal!)).find((x) => x.seq === seq);
        return d?.migration?.phase === "done" && d;
      },
      "the contract once v1 is retired",
      30_000,
    );
    assert.equal(done.outcome, "succeeded");
    assert.equal((await itemsService(teal)).colors.blue.instances.length, 0, "v1 is retired");

    // NOT NULL is in force on the table itself, and every row has its description.
    const { rows: cols } = await db.query(
      "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position",
    );
    assert.deepEqual(
      cols.map((c) => `${c.column_name}${c.is_nullable === "NO" ? " not null" : ""}`),
      ["id not null", "title not null", "description not null"],
    );
    await assert.rejects(db.query("INSERT INTO items (title) VALUES ('no description')"), {
      code: "23502", // not_null_violation
    });
    const { rows: nulls } = await db.query("SELECT count(*)::int AS n FROM items WHERE description IS NULL");
    assert.equal(nulls[0].n, 0);

    // v2 goes on reading and writing after the contract, v1's rows with their backfilled description.
    const sample = by("v1")[0]!;
    assert.deepEqual((await request(teal, "GET", `/items/${sample.id}`)).body, {
      version: "v2",
      item: { id: sample.id, title: sample.title, description: `about ${sample.title}` },
    });
    const after = await request(teal, "POST", "/items?title=later&description=kept");
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.item.description, "kept");
    const history = await cli("history", "items");
    assert.match(history.stdout, new RegExp(`migration ${MIGRATION}: done \\(schema ${SCHEMA}\\)`));
  } finally {
    await teal?.stop();
    await db.end();
    await dir.remove();
  }
});
