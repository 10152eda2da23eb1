import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseOptions } from "../../bench/args.ts";
import { TEAL_MAIN } from "../support/teal-process.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Row {
  scenario: string;
  name: string;
  rps?: number;
  errors?: number;
  non2xx?: number;
  switches?: number;
  error?: string;
  requests?: number;
  succeeded?: number;
  instant?: number;
  p50Ms?: number;
  samePids?: number;
  firstOkP50Ms?: number;
  case?: string;
  deployments?: number;
  rolledBack?: number;
  toStableP50Ms?: number | null;
  failedRequests?: number;
  asked?: number;
  cpuUsPerReq?: number | null;
  ratioToNginx?: number | null;
  ratioToTeal?: number | null;
  p99RatioToNginx1000?: number | null;
  services?: number;
  switchP50Ms?: number;
  firstNewP50Ms?: number;
  cpuMsPerSwitch?: number;
  staleAnswers?: number;
  maxRssMb?: number;
  cpuPercent?: number;
  rssMbSeries?: number[];
}

function bench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Row[]> {
  return new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", "--json", ...args],
      { cwd: root, env, maxBuffer: 10_000_000 },
      (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
    ),
  ).then((out) => JSON.parse(out) as Row[]);
}

describe("bench flags", () => {
  it("runs teal with its default access log, and --no-access-log turns it off for A/B", () => {
    assert.equal(parseOptions([])!.accessLog, true);
    assert.equal(parseOptions(["--access-log"])!.accessLog, true);
    assert.equal(parseOptions(["--no-access-log"])!.accessLog, false);
    assert.throws(
      () => parseOptions(["--access-log", "--no-access-log"]),
      /--access-log and --no-access-log: give one of them/,
    );
  });

  it("defaults to 1,000 switches, 5,000 idle connections, 200 scale switches and 10 idle minutes", () => {
    const o = parseOptions([])!;
    assert.deepEqual(
      [o.switches, o.switchEveryMs, o.idleConnections, o.scaleSwitches, o.idleMinutes],
      [1000, 10, 5000, 200, 10],
    );
    const set = parseOptions([
      "--switches",
      "30",
      "--switch-every-ms",
      "0",
      "--idle-connections",
      "200",
      "--scale-switches",
      "7",
      "--idle-minutes",
      "0.5",
    ])!;
    assert.deepEqual(
      [set.switches, set.switchEveryMs, set.idleConnections, set.scaleSwitches, set.idleMinutes],
      [30, 0, 200, 7, 0.5],
    );
  });

  it("rejects counts out of their bounds, naming the flag", () => {
    assert.throws(() => parseOptions(["--switches", "0"]), /--switches: expected a number >= 1, got "0"/);
    assert.throws(() => parseOptions(["--switches", "20000"]), /--switches: expected a number <= 10000/);
    assert.throws(() => parseOptions(["--scale-switches", "x"]), /--scale-switches: expected a number/);
    assert.throws(() => parseOptions(["--idle-minutes", "120"]), /--idle-minutes: expected a number <= 60/);
    assert.throws(
      () => parseOptions(["--idle-connections", "50000"]),
      /--idle-connections: expected a number <= 15000/,
    );
  });

  it("knows the new scenarios by name, and every scenario by default", () => {
    const all = parseOptions([])!.scenarios;
    for (const s of ["c1000", "body100k", "services1000", "switch-scale", "idle"])
      assert.ok(all.includes(s as (typeof all)[number]), s);
    assert.deepEqual(parseOptions(["--scenarios", "idle,c1000"])!.scenarios, ["c1000", "idle"]);
    assert.throws(() => parseOptions(["--scenarios", "c999"]), /--scenarios: unknown name "c999"/);
  });
});

/** A short run of `npm run bench` with real nginx, HAProxy and wrk: the harness works, and teal switches cleanly. */
describe("npm run bench (short run)", () => {
  it("measures every candidate, at c=1000 and with 100 KiB answers, and switches teal 20 times under load with no failed request", {
    // The build of dist/ alone took ~2 min on the shared machine; teal-nginx's switches stop at 30 s.
    timeout: 420_000,
  }, async () => {
    const rows = await bench([
      "--runs",
      "1",
      "--duration",
      "2",
      "--warmup",
      "0",
      "--switches",
      "20",
      "--scenarios",
      "throughput,c1000,body100k,switch",
    ]);
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
    for (const scenario of ["c1000", "body100k"]) {
      const got = rows.filter((r) => r.scenario === scenario).map((r) => r.name);
      assert.deepEqual(got, ["direct", "teal", "nginx", "haproxy", "http-proxy"], `${scenario}: the proxies`);
      const teal = rows.find((r) => r.scenario === scenario && r.name === "teal")!;
      assert.ok(teal.rps! > 0 && teal.cpuUsPerReq! > 0, `${scenario}: teal's rps and CPU per request`);
      assert.equal(typeof teal.ratioToNginx, "number", `${scenario}: teal's ratio to nginx`);
    }
    const teal = rows.find((r) => r.scenario === "switch" && r.name === "teal")!;
    assert.equal(teal.switches, 20);
    assert.equal(teal.asked, 20);
    assert.equal(teal.errors, 0);
    assert.equal(teal.non2xx, 0);
    assert.ok(
      rows.some((r) => r.scenario === "switch" && r.name === "nginx"),
      "nginx's reload switch was measured",
    );
  });

  // The case above builds and runs dist/; this one runs the tests' build of the sources (no second
  // build) to stay short.
  it("deploys twice under load, rolls back once and survives one kill -9 of teal, with no failed request", {
    timeout: 60_000,
  }, async () => {
    const rows = await bench(
      ["--only", "teal", "--scenarios", "deploy", "--deploys", "2", "--rollbacks", "1", "--restarts", "1"],
      { ...process.env, BENCH_TEAL_MAIN: TEAL_MAIN },
    );
    assert.deepEqual(
      rows.filter((r) => r.error !== undefined),
      [],
      "no part failed, and no app instance outlived teal",
    );
    const deploy = rows.find((r) => r.scenario === "deploy")!;
    assert.equal(deploy.succeeded, 2);
    assert.ok(deploy.requests! > 0, "the load ran during the deploys");
    assert.equal(deploy.errors, 0);
    assert.equal(deploy.non2xx, 0);
    const rollback = rows.find((r) => r.scenario === "deploy-rollback")!;
    assert.equal(rollback.instant, 1, "the previous color was still warm");
    assert.ok(rollback.p50Ms! > 0);
    assert.equal(rollback.errors, 0);
    assert.equal(rollback.non2xx, 0);
    const recovery = rows.find((r) => r.scenario === "deploy-recovery")!;
    assert.equal(recovery.samePids, 1, "the instances were re-adopted after kill -9");
    assert.ok(recovery.firstOkP50Ms! > 0);
  });

  it("deploys one version of each of the five kinds under load and reports what the analysis did", {
    timeout: 120_000,
  }, async () => {
    const rows = await bench(["--only", "teal", "--scenarios", "analysis", "--deployments", "1"], {
      ...process.env,
      BENCH_TEAL_MAIN: TEAL_MAIN,
    });
    const threshold = rows.filter((r) => r.scenario === "analysis" && r.name === "threshold");
    assert.deepEqual(
      threshold.map((r) => [r.case, r.deployments, r.error]),
      ["same", "errors", "slow2x", "slow1_3x", "late"].map((k) => [k, 1, undefined]),
    );
    for (const r of threshold) assert.ok(r.requests! > 0, `${r.case}: the load ran`);
    const errors = threshold.find((r) => r.case === "errors")!;
    assert.equal(errors.rolledBack, 1, "a version with 5% errors is rolled back");
    assert.ok(errors.toStableP50Ms! > 0 && errors.failedRequests! > 0, "its first bad answer was timed");
    // Until teal knows the statistical form, the scenario says so instead of running it.
    const compare = rows.filter((r) => r.scenario === "analysis" && r.name === "compare");
    if (compare.length === 1)
      assert.match(compare[0]!.error!, /not run: this teal rejects the compare form: .*compare/);
    else assert.equal(compare.length, 5);
  });

  // The tests' build of the sources (no second build); one run each and a few switches, to stay short.
  it("runs teal with 1,000 services beside nginx with 1,000 virtual hosts, switches them at scale and watches them idle", {
    timeout: 240_000,
  }, async () => {
    const rows = await bench(
      [
        "--only",
        "teal,nginx",
        "--scenarios",
        "services1000,switch-scale,idle",
        "--runs",
        "1",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--scale-switches",
        "5",
        "--idle-minutes",
        "0.05",
      ],
      { ...process.env, BENCH_TEAL_MAIN: TEAL_MAIN },
    );
    assert.deepEqual(
      rows.filter((r) => r.error !== undefined),
      [],
      "every part ran",
    );
    const services = rows.filter((r) => r.scenario === "services1000");
    assert.deepEqual(
      services.map((r) => [r.name, r.services]),
      [
        ["teal", 1],
        ["nginx", 1],
        ["teal-1000", 1000],
        ["nginx-1000", 1000],
      ],
    );
    for (const r of services) assert.ok(r.rps! > 0, `${r.name} served the random Host mix`);
    const t1000 = services.find((r) => r.name === "teal-1000")!;
    assert.equal(typeof t1000.ratioToTeal, "number");
    assert.equal(typeof t1000.p99RatioToNginx1000, "number");
    const scale = rows.filter((r) => r.scenario === "switch-scale");
    assert.deepEqual(
      scale.map((r) => [r.case, r.switches, r.errors]),
      [
        ["1 worker", 5, 0],
        ["2 workers", 5, 0],
      ],
    );
    for (const r of scale) {
      assert.ok(r.switchP50Ms! > 0 && r.firstNewP50Ms! > 0, `${r.case}: timed`);
      assert.ok(r.cpuMsPerSwitch! > 0, `${r.case}: CPU per switch measured`);
    }
    const idle = rows.filter((r) => r.scenario === "idle");
    assert.deepEqual(
      idle.map((r) => r.name),
      ["teal-1000", "nginx-1000"],
    );
    for (const r of idle) {
      assert.ok(r.maxRssMb! > 0 && r.rssMbSeries!.length >= 5, `${r.name}: RSS sampled`);
      assert.ok(r.cpuPercent! >= 0, `${r.name}: CPU measured`);
    }
  });
});
