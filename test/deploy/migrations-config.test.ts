/** The `database` field of a service: validated at load, and `teal validate` lints its migrations. */

import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import { runCli, tempDir } from "../support/teal-process.ts";

const service = (database: string) => `services:
  web:
    routes: [{ path: / }]
    runtime: { type: process, command: ["node", "app.mjs"] }
    database: ${database}
`;

it("a connection string in teal.yaml is refused, and so is a database without one", async () => {
  const dir = await tempDir();
  try {
    const cases: [string, RegExp][] = [
      [
        "{ url: 'postgres://u:secret@db/app', migrations: m }",
        /services\.web\.database\.url: a connection string does not go in teal\.yaml .*urlEnv.*urlFile/,
      ],
      ["{ migrations: m }", /services\.web\.database\.urlEnv: the database needs a connection string/],
      [
        "{ urlEnv: A, urlFile: f, migrations: m }",
        /services\.web\.database\.urlFile: give only one of urlEnv and urlFile/,
      ],
      [
        "{ urlEnv: 'not a name', migrations: m }",
        /services\.web\.database\.urlEnv: must be an environment variable name/,
      ],
    ];
    for (const [database, message] of cases) {
      const file = join(dir.path, "teal.yaml");
      await writeFile(file, service(database));
      const r = await runCli(["validate", "--config", file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /secret/, "the refused connection string is not echoed");
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    }
  } finally {
    await dir.remove();
  }
});

it("teal validate reports what the migration lint flags", async () => {
  const dir = await tempDir();
  try {
    await mkdir(join(dir.path, "migrations"));
    await writeFile(
      join(dir.path, "migrations", "001_drop.yaml"),
      "operations:\n  - sql: { up: 'ALTER TABLE items DROP COLUMN title', down: 'SELECT 1' }\n",
    );
    const file = join(dir.path, "teal.yaml");
    await writeFile(file, service("{ urlEnv: APP_DATABASE_URL, migrations: migrations }"));
    const r = await runCli(["validate", "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /services\.web\.database\.migrations: .*001_drop\.yaml: operations\[0\]\.sql\.up: drop-outside-contract: .*teal deploy refuses it/,
    );
  } finally {
    await dir.remove();
  }
});
