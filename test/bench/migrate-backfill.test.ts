/** The bench's migrate-backfill scenario (issue 17): its flags, and a short real run on PostgreSQL 15. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOptions } from "../../bench/args.ts";
import { migrateBackfill } from "../../bench/scenarios/migrateBackfill.ts";

describe("npm run bench -- --scenarios migrate-backfill", () => {
  it("is left out of the default run, runs when named, and checks --backfill-rows", () => {
    const byDefault = parseOptions([])!;
    assert.ok(!byDefault.scenarios.includes("migrate-backfill"), "not in the default run");
    assert.ok(byDefault.scenarios.includes("idle"));
    assert.equal(byDefault.backfillRows, 1_000_000);
    const named = parseOptions(["--scenarios", "migrate-backfill", "--backfill-rows", "5000"])!;
    assert.deepEqual(named.scenarios, ["migrate-backfill"]);
    assert.equal(named.backfillRows, 5000);
    assert.throws(
      () => parseOptions(["--backfill-rows", "10"]),
      /--backfill-rows: expected a number >= 1000, got "10"/,
    );
  });

  it("fills the table both ways under a writer and reports each run's figures, no write failed", async () => {
    const o = { ...parseOptions(["--runs", "1", "--backfill-rows", "5000"])! };
    const rows = await migrateBackfill(o);
    assert.deepEqual(
      rows.map((r) => [r.name, r.run, r.rows, r.error]),
      [
        ["naive ALTER + UPDATE", 1, 5000, undefined],
        ["teal migrate start", 1, 5000, undefined],
      ],
    );
    for (const r of rows) {
      assert.equal(r.failedWrites, 0, `${r.name}: no write failed`);
      assert.ok((r.writes as number) > 0 && (r.rowsPerSec as number) > 0, JSON.stringify(r));
      assert.ok((r.p50Ms as number) <= (r.p99Ms as number) && (r.p99Ms as number) <= (r.maxMs as number));
    }
  });
});
