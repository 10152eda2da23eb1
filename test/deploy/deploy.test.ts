import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { alive } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { api, type Json, processServiceConfig } from "../support/teal-process.ts";
import { useTeal } from "../support/use-teal.ts";

const DEPLOYMENT = `    deployment:
      timeoutMs: 3000
      drainTimeoutMs: 2000
      scaleDownDelayMs: 60000
      smoke: [{ name: smoke endpoint, http: { path: /smoke } }]`;

describe("teal deploy of a managed service", () => {
  const teal = useTeal(processServiceConfig(DEPLOYMENT));
  const { cli, served, service, history, underLoad } = teal;

  it("puts the first version on the live color, then deploys v2 under load without a failed request", async () => {
    const first = await cli("deploy", "web", "--version", "v1");
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /v1 is live on blue/);
    assert.deepEqual(
      { color: (await served()).color, version: (await served()).version },
      { color: "blue", version: "v1" },
    );

    const { result: second, traffic } = await underLoad(() => cli("deploy", "web", "--version", "v2"));
    assert.equal(second.code, 0, second.stdout + second.stderr);
    for (const phase of [
      "starting",
      "health",
      "smoke",
      "switching",
      "switch",
      "draining",
      "drain",
      "scale_down",
      "finished",
    ]) {
      assert.match(second.stdout, new RegExp(`\\d+\\.\\ds\\s+${phase}`), `progress shows ${phase}`);
    }
    assert.equal(
      traffic.errors + traffic.non2xx,
      0,
      `failed requests: ${JSON.stringify([...traffic.statuses])}`,
    );
    assert.ok(traffic.ok > 100, `only ${traffic.ok} requests went through`);
    const versions = new Set([...traffic.bodies.keys()].map((b) => (JSON.parse(b) as Json).version));
    assert.deepEqual([...versions].sort(), ["v1", "v2"]);
    assert.equal((await served()).version, "v2");

    const s = await service();
    assert.equal(s.routing.live, "green");
    assert.equal(s.colors.green.version, "v2");
    assert.equal(s.colors.blue.version, "v1");
    assert.ok(s.colors.blue.warmUntil, "the old color stays warm");
    assert.equal(s.colors.blue.instances[0].alive, true);
  });

  it("a version that never becomes healthy fails, is stopped, and live traffic never notices", async () => {
    const { result, traffic } = await underLoad(() =>
      cli("deploy", "web", "--version", "v3", "--env", "APP_HEALTH=fail"),
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /did not become healthy within 3000 ms: instance web-blue-\d+-0 is \w+ \(last probe: status 500/,
    );
    assert.match(result.stdout, /live traffic stayed on green v2/);
    assert.match(
      result.stdout,
      /\| fixture app v3 \(blue\) starting/,
      "the new version's last output is shown",
    );
    assert.equal(traffic.errors + traffic.non2xx, 0);
    assert.deepEqual(
      new Set([...traffic.bodies.keys()].map((b) => (JSON.parse(b) as Json).version)),
      new Set(["v2"]),
    );

    const latest = (await history())[0]!;
    assert.equal(latest.outcome, "failed");
    assert.match(latest.reason, /did not become healthy/);
    const started = latest.events.find((e: Json) => e.type === "instance").data.instances[0];
    await eventually(() => !alive(started.pid), "the failed instance to be stopped");
    const s = await service();
    assert.equal(s.colors.blue.state, "stopped");
    assert.equal(s.routing.live, "green");
  });

  it("a failing smoke check stops the deploy before any user traffic reaches it", async () => {
    const r = await cli("deploy", "web", "--version", "v4", "--env", "APP_FAIL_PATH=/smoke");
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /smoke check "smoke endpoint" failed: GET \/smoke on http:\/\/127\.0\.0\.1:\d+: status 500 \(expected 200\)/,
    );
    assert.equal((await served()).version, "v2");
  });

  it("a new version that exits at start fails fast with its exit code and output", async () => {
    const r = await cli("deploy", "web", "--version", "v5", "--env", "APP_EXIT=3");
    assert.equal(r.code, 1);
    assert.match(r.stdout, /instance web-blue-\d+-0 exited with code 3 before it became healthy/);
    assert.match(r.stdout, /\| fixture app: exiting with code 3 as asked/);
    assert.equal((await served()).version, "v2");

    // The output can hold secrets: the read-only view token (the dashboard's) sees that it was
    // hidden, in the record and in the event stream, while the admin token gets it.
    const failed = (await history())[0]!;
    const view = (await readFile(join(teal.dataDir, "view.token"), "utf8")).trim();
    const asViewer = { ...teal, token: view };
    const outputOf = (d: Json) => JSON.stringify(d.events.find((e: Json) => e.type === "failure").data.logs);
    assert.match(outputOf(failed), /exiting with code 3 as asked/);
    const seen = (await api(asViewer, "GET", `/v1/services/web/deployments/${failed.seq}`)).body;
    assert.equal(outputOf(seen), '"(hidden: output needs the admin token)"');
    const stream = await fetch(`${teal.adminUrl}/v1/services/web/deployments/${failed.seq}/events`, {
      headers: { authorization: `Bearer ${view}` },
    });
    const text = await stream.text();
    assert.match(text, /hidden: output needs the admin token/);
    assert.doesNotMatch(text, /exiting with code 3/);
  });

  it("refuses a second deployment while one runs, naming the running one", async () => {
    // A canary step of minutes keeps the first deployment running, however slowly the CLI below
    // (a new Node process) starts on a busy machine; it is promoted once the CLI has been refused.
    const first = await api(teal, "POST", "/v1/services/web/deployments", {
      version: "v6",
      strategy: "Canary10Percent5Minutes",
    });
    assert.equal(first.status, 202);
    const second = await api(teal, "POST", "/v1/services/web/deployments", { version: "v7" });
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, "DEPLOYMENT_RUNNING");
    assert.match(
      second.body.error.message,
      new RegExp(`#${first.body.deployment.seq} \\(deploy of v6 to blue`),
    );
    const cliRefused = await cli("deploy", "web", "--version", "v7");
    assert.equal(cliRefused.code, 1);
    assert.match(cliRefused.stderr, /already running/);
    await eventually(
      async () =>
        (await api(teal, "POST", "/v1/services/web/promote", { full: true })).status === 200 || undefined,
      "the first deployment to reach its canary step and be promoted",
    );
    const done = await eventually(async () => {
      const d = (await history())[0]!;
      return d.outcome !== "running" && d;
    }, "the first deployment to end");
    assert.equal(done.outcome, "succeeded");
    assert.equal((await served()).version, "v6");
  });

  it("rolls back at once while the previous color is warm, reusing its running instances", async () => {
    const before = await service();
    const warmPid = before.colors.green.instances[0].pid;
    const r = await cli("rollback", "web");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /still warm on green: switching back now/);
    assert.equal((await served()).version, "v2");
    const s = await service();
    assert.equal(s.colors.green.instances[0].pid, warmPid, "no new process was started");
    const [rollback, undone] = (await history()) as [Json, Json];
    assert.equal(rollback.kind, "rollback");
    assert.equal(rollback.rollbackOf, undone.seq);
    assert.equal(rollback.outcome, "succeeded");
    assert.equal(undone.outcome, "rolled_back");
    assert.equal(undone.rolledBackBy, rollback.seq);
    assert.equal(undone.rollbackCause, "operator", "undone by an operator, not rolled back by teal");
    const json = JSON.parse((await cli("history", "web", "--json", "--limit", "2")).stdout);
    assert.deepEqual(
      json.deployments.map((d: Json) => [d.seq, d.kind, d.outcome, d.rollbackCause]),
      [
        [rollback.seq, "rollback", "succeeded", null],
        [undone.seq, "deploy", "rolled_back", "operator"],
      ],
    );
    const text = await cli("history", "web", "--no-events");
    assert.match(
      text.stdout,
      new RegExp(`#${rollback.seq}\\s+teal rollback of #${undone.seq}\\s+v2 .*succeeded`),
    );
    assert.match(text.stdout, new RegExp(`#${undone.seq}\\s+deploy\\s+v6 .*undone by operator`));
    assert.match(text.stdout, new RegExp(`undone by #${rollback.seq} \\(teal rollback\\)`));
    assert.doesNotMatch(text.stdout, /rolled back by teal/);
  });

  it("gates teal switch on health: an unhealthy color is refused unless --force", async () => {
    const s = await service();
    const warm = s.colors.blue.instances[0];
    process.kill(warm.pid, "SIGSTOP");
    try {
      await eventually(
        async () => (await service()).colors.blue.instances[0].health.status === "unhealthy",
        "the frozen instance to be unhealthy",
      );
      const refused = await cli("switch", "web", "--to", "blue");
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /refusing to send traffic of web to blue: instance web-blue-\d+-0 is unhealthy \(last probe: .*\); fix it, or add --force to switch anyway \[NOT_HEALTHY\]/,
      );
      assert.equal((await served()).version, "v2");
      const forced = await cli("switch", "web", "--to", "blue", "--force", "--no-wait");
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal((await service()).routing.live, "blue");
    } finally {
      process.kill(warm.pid, "SIGCONT");
    }
    assert.equal((await served()).version, "v6");
    await eventually(async () => (await service()).colors.green.ready, "green to be healthy");
    const back = await cli("switch", "web", "--to", "green");
    assert.equal(back.code, 0, back.stderr);
  });

  it("shows the instances' output with teal logs", async () => {
    const r = await cli("logs", "web", "--color", "green", "--lines", "50");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fixture app v2 \(green\) starting/);
    assert.doesNotMatch(r.stdout, /\(blue\)/);
    const bad = await cli("logs", "web", "--color", "red");
    assert.equal(bad.code, 2);
  });
});
