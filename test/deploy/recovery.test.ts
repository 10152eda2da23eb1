import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { describe, it } from "node:test";
import { startBackend } from "../support/backends.ts";
import {
  alive,
  deploy,
  finished,
  followLogs,
  history,
  pids,
  served,
  service,
} from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { load } from "../support/http.ts";
import {
  api,
  type Json,
  processServiceConfig,
  runCli,
  startTeal,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";

/** What a crash right after a spawn leaves: a process writing into teal's log directory, unrecorded. */
function spawnOrphan(dataDir: string) {
  mkdirSync(`${dataDir}/logs/web`, { recursive: true });
  const out = openSync(`${dataDir}/logs/web/green-0.log`, "a");
  const orphan = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  orphan.unref();
  return orphan;
}

describe("teal recovers from crashes", () => {
  it("kill -9 during a deployment: the restart serves the live version at once and rolls the deployment back", async () => {
    const dir = await tempDir();
    const config = processServiceConfig("    deployment: { scaleDownDelayMs: 60000 }");
    let teal = await startTeal(config, dir.path);
    try {
      assert.equal((await finished(teal, await deploy(teal, "v1"))).outcome, "succeeded");
      const bluePids = pids(await service(teal), "blue");
      const seq = await deploy(teal, "v2", { APP_START_DELAY_MS: "60000" });
      const newPids = await eventually(async () => {
        const s = await service(teal);
        return s.deployment?.phase === "health" && s.colors.green.instances.length > 0 && pids(s, "green");
      }, "the deployment to wait for health");

      await teal.kill9();
      teal = await startTeal(config, dir.path);
      assert.equal((await served(teal)).version, "v1", "the first request after the restart is served by v1");
      assert.deepEqual(
        pids(await service(teal), "blue"),
        bluePids,
        "blue's instances were re-adopted, not restarted",
      );

      const d = await finished(teal, seq);
      assert.equal(d.outcome, "failed");
      assert.match(d.reason, /interrupted by a restart of teal during phase health/);
      const recovery = d.events.find((e: Json) => e.type === "recovery");
      assert.match(
        recovery.message,
        /before all traffic had moved to green; stopped the new instances of v2; live traffic stayed on blue v1/,
      );
      for (const pid of newPids)
        await eventually(() => !alive(pid), "the interrupted instance to be stopped");
      assert.equal((await service(teal)).colors.green.state, "stopped");

      assert.equal(
        (await finished(teal, await deploy(teal, "v3"))).outcome,
        "succeeded",
        "deploys work after recovery",
      );
      assert.equal((await served(teal)).version, "v3");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("kill -9 after a deployment: the restart adopts both colors and keeps the rollback window", async () => {
    const dir = await tempDir();
    const config = processServiceConfig("    deployment: { scaleDownDelayMs: 60000 }");
    let teal = await startTeal(config, dir.path);
    try {
      await finished(teal, await deploy(teal, "v1"));
      await finished(teal, await deploy(teal, "v2"));
      const before = await service(teal);
      await teal.kill9();
      teal = await startTeal(config, dir.path);
      // Served while teal was down, and served by the same processes after it.
      assert.equal((await served(teal)).version, "v2");
      const after = await service(teal);
      assert.deepEqual(pids(after, "green"), pids(before, "green"));
      assert.deepEqual(pids(after, "blue"), pids(before, "blue"));
      assert.equal(after.colors.blue.warmUntil, before.colors.blue.warmUntil);
      const r = await runCli(["rollback", "web", "--data-dir", dir.path]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /still warm on blue/);
      assert.equal((await served(teal)).version, "v1");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("restarts an instance that crashes, says so in the history and the log, and keeps serving", async () => {
    const dir = await tempDir();
    const teal = await startTeal(processServiceConfig("", { instances: 2 }), dir.path);
    try {
      await finished(teal, await deploy(teal, "v1"));
      const [first, second] = (await service(teal)).colors.blue.instances as Json[];
      const follower = followLogs(dir.path, "-n", "1");
      const followed = () => follower.output();
      // Set in the finally too: a failed assertion must not leave the load running (and the test
      // process with it, until CI's timeout).
      let done = false;
      try {
        const traffic = load(`${teal.proxyUrl}/`, { total: 1_000_000, connections: 4, stop: () => done });
        // The last line of each log arrives first: from then on, the follower is following.
        await eventually(() => followed().split("\n").length > 2, "teal logs -f to start");
        const crash = await fetch(`${first!.url}/crash`, { method: "POST" }).catch(() => undefined);
        assert.equal(crash, undefined, "the instance died mid-request");
        const restarted = await eventually(async () => {
          const i = (await service(teal)).colors.blue.instances.find((x: Json) => x.id === first!.id);
          return i.restarts === 1 && i.alive && i.health.status === "healthy" && i;
        }, "the crashed instance to be restarted and healthy");
        done = true;
        const result = await traffic;
        assert.equal(result.errors + result.non2xx, 0, "the other instance and the retry hid the crash");
        assert.notEqual(restarted.pid, first!.pid);
        assert.equal((await service(teal)).colors.blue.instances[1].pid, second!.pid);

        const events = (await history(teal))[0]!.events.map((e: Json) => `${e.type}: ${e.message}`);
        assert.ok(
          events.some((e: string) =>
            /^crash: instance web-blue-1-0 exited with code 1; restarting in 500 ms/.test(e),
          ),
          events.join("\n"),
        );
        assert.ok(events.some((e: string) => /^restart: instance web-blue-1-0 restarted/.test(e)));
        await eventually(
          () => teal.logs.some((l) => l.msg === "instance exited with code 1; restarting in 500 ms"),
          "the crash in the server log",
        );
        await eventually(
          () =>
            followed().includes("fixture app: crashing as asked") &&
            followed().includes("fixture app v1 (blue) starting"),
          "teal logs -f to show the crash and the restart",
        );
      } finally {
        done = true;
        follower.child.kill();
      }
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("says LIVE COLOR DOWN when every live instance has died", async () => {
    const dir = await tempDir();
    const teal = await startTeal(processServiceConfig(), dir.path);
    try {
      await finished(teal, await deploy(teal, "v1"));
      const [only] = (await service(teal)).colors.blue.instances as Json[];
      await fetch(`${only!.url}/crash`, { method: "POST" }).catch(() => undefined);
      const events = await eventually(async () => {
        const e = (await history(teal))[0]!.events.map((x: Json) => x.message as string);
        return e.some((m: string) => m.startsWith("LIVE COLOR DOWN")) && e;
      }, "the alarm in the history");
      assert.ok(events.some((m: string) => m.includes("every instance of web blue has exited")));
      await eventually(
        () => teal.logs.some((l) => String(l.msg).startsWith("LIVE COLOR DOWN")),
        "the alarm in the log",
      );
      await eventually(async () => (await service(teal)).colors.blue.ready, "the instance to be back");
      assert.equal((await served(teal)).version, "v1");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });
});

describe("teal rollback after the scale-down delay", () => {
  it("redeploys the previous version as a new deployment once its instances are stopped", async () => {
    const dir = await tempDir();
    const teal = await startTeal(processServiceConfig("    deployment: { scaleDownDelayMs: 200 }"), dir.path);
    try {
      await finished(teal, await deploy(teal, "v1", { APP_MARK: "first" }));
      const v1Pids = pids(await service(teal), "blue");
      const second = await deploy(teal, "v2");
      await eventually(async () => {
        const d = (await history(teal)).find((x) => x.seq === second);
        return d?.events.some((e: Json) => e.message === "stopped blue v1 after the scale-down delay");
      }, "blue to be scaled down");
      for (const pid of v1Pids) assert.equal(alive(pid), false, "scaled-down instances are gone");
      assert.equal((await service(teal)).colors.blue.state, "stopped");

      const r = await runCli(["rollback", "web", "--data-dir", dir.path]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /rolling back web v1 to blue/);
      assert.match(r.stdout, /started web-blue-3-0/);
      assert.equal((await served(teal)).version, "v1");
      const [rollback, undone] = (await history(teal)) as [Json, Json];
      assert.equal(rollback.kind, "rollback");
      assert.equal(rollback.rollbackOf, second);
      assert.deepEqual(rollback.env, { APP_MARK: "(hidden)" }, "the API shows env names, never values");
      assert.equal(
        (await served(teal)).mark,
        "first",
        "v1 comes back with the environment it was deployed with",
      );
      assert.equal(undone.outcome, "rolled_back");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("refuses to deploy or roll back a static service, and to roll back a first deployment", async () => {
    const dir = await tempDir();
    const teal = await startTeal(
      `${processServiceConfig()}  legacy:\n    routes: [{ host: legacy.test }]\n    blue: [http://127.0.0.1:9]\n`,
      dir.path,
    );
    try {
      const staticDeploy = await api(teal, "POST", "/v1/services/legacy/deployments", { version: "v1" });
      assert.equal(staticDeploy.status, 422);
      assert.equal(staticDeploy.body.error.code, "UNSUPPORTED");
      assert.match(staticDeploy.body.error.message, /teal switch legacy/);
      const badVersion = await api(teal, "POST", "/v1/services/web/deployments", { version: "v 1" });
      assert.equal(badVersion.status, 400);
      assert.match(badVersion.body.error.message, /^version: must be a version label/);
      const nothing = await api(teal, "POST", "/v1/services/web/rollback");
      assert.equal(nothing.status, 409);
      await finished(teal, await deploy(teal, "v1"));
      const first = await runCli(["rollback", "web", "--data-dir", dir.path]);
      assert.equal(first.code, 1);
      assert.match(
        first.stderr,
        /web #1 \(v1\) was its first deployment; there is no earlier version to roll back to \[CONFLICT\]/,
      );
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });
});

describe("teal's own lifecycle around its instances", () => {
  it("a graceful stop ends log followers, then stops every instance", async () => {
    const dir = await tempDir();
    const teal = await startTeal(
      processServiceConfig("    deployment: { scaleDownDelayMs: 60000 }"),
      dir.path,
    );
    await finished(teal, await deploy(teal, "v1"));
    await finished(teal, await deploy(teal, "v2"));
    const s = await service(teal);
    const all = [...pids(s, "blue"), ...pids(s, "green")];
    const follower = followLogs(dir.path);
    const followed = () => follower.output();
    try {
      await eventually(() => followed().includes("fixture app v2"), "the follower to start");
      const code = await Promise.race([
        teal.stop(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("teal did not stop within 10 s")), 10_000).unref(),
        ),
      ]);
      assert.equal(code, 0);
      for (const pid of all) assert.equal(alive(pid), false, `instance ${pid} was stopped`);
      await eventually(() => follower.child.exitCode !== null, "the follower to end with the server");
    } finally {
      follower.child.kill();
      await dir.remove();
    }
  });

  it("at start, kills an instance that no record knows (a crash between its start and its save)", async () => {
    const dir = await tempDir();
    const config = processServiceConfig();
    let teal = await startTeal(config, dir.path);
    try {
      await finished(teal, await deploy(teal, "v1"));
      await teal.kill9();
      const orphan = spawnOrphan(dir.path);
      teal = await startTeal(config, dir.path);
      await eventually(() => !alive(orphan.pid!), "the orphan to be killed");
      assert.ok(teal.logs.some((l) => String(l.msg).startsWith("killed an instance no record knew of")));
      assert.equal((await served(teal)).version, "v1", "the recorded instance was adopted, not killed");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("at start, kills such an instance also when no service runs processes any more", async () => {
    const dir = await tempDir();
    const backend = await startBackend("static");
    let teal = await startTeal(processServiceConfig(), dir.path);
    try {
      await teal.kill9();
      const orphan = spawnOrphan(dir.path);
      // The next start's config has only a static service: nothing runs processes any more.
      teal = await startTeal(webServiceConfig(backend, backend), dir.path);
      await eventually(() => !alive(orphan.pid!), "the orphan to be killed");
      assert.ok(teal.logs.some((l) => String(l.msg).startsWith("killed an instance no record knew of")));
    } finally {
      await teal.stop();
      await backend.close();
      await dir.remove();
    }
  });

  it("refuses to move traffic by hand during a deployment, and to deploy onto a color that carries a split", async () => {
    const dir = await tempDir();
    const teal = await startTeal(processServiceConfig(), dir.path);
    try {
      await finished(teal, await deploy(teal, "v1"));
      const seq = await deploy(teal, "v2", { APP_START_DELAY_MS: "1500" });
      const during = await api(teal, "POST", "/v1/services/web/switch", { to: "green", force: true });
      assert.equal(during.status, 409);
      assert.equal(during.body.error.code, "DEPLOYMENT_RUNNING");
      await finished(teal, seq);
      assert.equal((await api(teal, "POST", "/v1/services/web/split", { greenPercent: 50 })).status, 200);
      const onto = await api(teal, "POST", "/v1/services/web/deployments", { version: "v3" });
      assert.equal(onto.status, 409);
      assert.match(
        onto.body.error.message,
        /web sends 50% of its traffic to blue, where the new version would go/,
      );
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });
});
