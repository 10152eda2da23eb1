import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Row {
  scenario: string;
  name: string;
  rps?: number;
  errors?: number;
  non2xx?: number;
  switches?: number;
  error?: string;
}

/** A short run of `npm run bench` with real nginx, HAProxy and wrk: the harness works, and teal switches cleanly. */
describe("npm run bench (short run)", () => {
  it("measures every candidate and switches teal 8 times under load with no failed request", {
    timeout: 180_000,
  }, async () => {
    const args = [
      "--import",
      "tsx",
      "bench/run.ts",
      "--json",
      "--runs",
      "1",
      "--duration",
      "2",
      "--warmup",
      "0",
      "--scenarios",
      "throughput,switch",
    ];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { cwd: root, maxBuffer: 10_000_000 }, (err, out, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out),
      ),
    );
    const rows = JSON.parse(stdout) as Row[];
    assert.deepEqual(
      rows.filter((r) => r.error !== undefined),
      [],
      "no candidate failed to start or run",
    );
    for (const name of ["direct", "teal", "nginx", "haproxy", "http-proxy"]) {
      const row = rows.find((r) => r.scenario === "throughput" && r.name === name);
      assert.ok(row && row.rps! > 0, `${name} has a throughput result`);
      assert.equal(row.errors, 0, `${name} throughput errors`);
    }
    const teal = rows.find((r) => r.scenario === "switch" && r.name === "teal")!;
    assert.equal(teal.switches, 8);
    assert.equal(teal.errors, 0);
    assert.equal(teal.non2xx, 0);
    assert.ok(
      rows.some((r) => r.scenario === "switch" && r.name === "nginx"),
      "nginx's reload switch was measured",
    );
  });
});
