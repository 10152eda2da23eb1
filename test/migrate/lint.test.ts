import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { lintMigration } from "../../src/migrate/lint.ts";
import { loadMigrationFile, loadMigrations } from "../../src/migrate/migration-files.ts";
import { runCli } from "../support/teal-process.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/migrations/", import.meta.url));
const UNSAFE = join(FIXTURES, "unsafe");
const SAFE = join(FIXTURES, "safe");

test("lint catches every unsafe migration of the corpus, naming the operation, the rule and the fix", async () => {
  const files = (await readdir(UNSAFE)).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 15);
  for (const file of files) {
    const expected = file.split("__")[0]!.replaceAll("_", "-");
    const migration = await loadMigrationFile(join(UNSAFE, file));
    const findings = lintMigration(migration);
    const finding = findings.find((f) => f.rule === expected);
    assert.ok(finding, `${file}: expected ${expected}, got ${JSON.stringify(findings.map((f) => f.rule))}`);
    assert.match(finding.path, /^operations\[\d+\]\.(sql\.up|add_column\.column\.nullable)$/);
    assert.ok(finding.fix.length > 10);
  }
});

test("lint passes safe migrations, including SQL whose strings and comments look unsafe", async () => {
  for (const migration of await loadMigrations(SAFE))
    assert.deepEqual(lintMigration(migration), [], migration.file);
});

test("teal migrate lint exits 1 with each finding as JSON, and 0 on a safe directory", async () => {
  const unsafe = await runCli(["--json", "migrate", "lint", "--dir", UNSAFE]);
  assert.equal(unsafe.code, 1, unsafe.stderr);
  const body = JSON.parse(unsafe.stdout) as {
    ok: boolean;
    findings: { file: string; path: string; rule: string }[];
  };
  assert.equal(body.ok, false);
  assert.ok(
    body.findings.some(
      (f) => f.file.endsWith("drop_outside_contract__column.yaml") && f.path === "operations[0].sql.up",
    ),
  );
  const safe = await runCli(["migrate", "lint", "--dir", SAFE]);
  assert.equal(safe.code, 0, safe.stderr);
  assert.match(safe.stdout, /ok: 2 migrations, nothing unsafe/);
});
