/**
 * examples/systemd/teal.service passes `systemd-analyze verify` (skipped where systemd-analyze is
 * not installed), with the teal it names replaced by this checkout's bin/teal.js: verify checks
 * that the command exists.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { TEAL_BIN, tempDir } from "../support/teal-process.ts";

const UNIT = fileURLToPath(new URL("../../examples/systemd/teal.service", import.meta.url));
const ANALYZE = "/usr/bin/systemd-analyze";

it("the example systemd unit passes systemd-analyze verify", { skip: !existsSync(ANALYZE) }, async () => {
  const unit = await readFile(UNIT, "utf8");
  // A reload is a takeover by the same command line, and systemd follows the new main process.
  assert.match(
    unit,
    /^ExecReload=\/usr\/local\/bin\/teal server --takeover --config \/etc\/teal\/teal.yaml --data-dir \/var\/lib\/teal$/m,
  );
  assert.match(unit, /^PIDFile=\/var\/lib\/teal\/teal.pid$/m);
  // teal drains before it stops its instances, and the instances outlive a crash of teal.
  assert.match(unit, /^KillMode=process$/m);
  const dir = await tempDir();
  try {
    const path = join(dir.path, "teal.service");
    await writeFile(path, unit.replaceAll("/usr/local/bin/teal", TEAL_BIN));
    const r = await promisify(execFile)(ANALYZE, ["verify", path]).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.deepEqual(r, { code: 0, stderr: "" });
  } finally {
    await dir.remove();
  }
});
