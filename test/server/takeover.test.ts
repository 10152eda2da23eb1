/**
 * Takeover: SIGHUP or `teal server --takeover` hands the running teal's listening sockets to a new
 * teal process; under keep-alive load through real `teal server` children, no request fails,
 * with the proxy in the control process (workers: 1) and in 2 worker processes.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { alive, deploy, finished, history, pids, service, underLoad } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { hup, logOf, stopAll, successors } from "../support/takeover.ts";
import { api, processServiceConfig, runCli, startTeal, TEAL_MAIN, tempDir } from "../support/teal-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The pids of a teal's proxy workers (its children running proxy-worker). */
async function workerPids(teal: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)("ps", ["-o", "pid=,args=", "--ppid", String(teal)]);
  return stdout
    .split("\n")
    .filter((l) => l.includes("proxy-worker"))
    .map((l) => Number.parseInt(l, 10));
}

for (const workers of [1, 2]) {
  describe(`takeover with proxy.workers: ${workers}`, () => {
    const dirs: Array<{ remove: () => Promise<void> }> = [];
    after(async () => {
      for (const d of dirs) await d.remove();
    });

    it("10 SIGHUPs under keep-alive load: 0 failed requests, the instances keep running, the old teals exit", async () => {
      const dir = await tempDir();
      dirs.push(dir);
      const teal = await startTeal(
        processServiceConfig().replace("workers: 1", `workers: ${workers}`),
        dir.path,
      );
      const all = [teal.child.pid!];
      try {
        assert.equal((await finished(teal, await deploy(teal, "v1"))).outcome, "succeeded");
        const instances = pids(await service(teal), "blue");
        let current = teal.child.pid!;
        const { traffic } = await underLoad(teal, async () => {
          for (let i = 0; i < 10; i++) {
            current = await hup(teal, current);
            all.push(current);
          }
        });
        assert.deepEqual(
          { errors: traffic.errors, non2xx: traffic.non2xx },
          { errors: 0, non2xx: 0 },
          `across 10 takeovers: ${traffic.ok} ok`,
        );
        assert.ok(traffic.ok > 100, `${traffic.ok} requests`);
        // Every old teal finished and exited; the instances are the same processes, now the new one's.
        await eventually(() => all.slice(0, -1).every((p) => !alive(p)), "the old teals to exit", 30_000);
        const info = JSON.parse(await readFile(join(dir.path, "server.json"), "utf8"));
        assert.equal(info.pid, current);
        assert.deepEqual(pids(await service(teal), "blue"), instances);
        if (workers > 1) assert.equal((await workerPids(current)).length, workers);
        // The admin API moved with it: same address, same token, the new process answers.
        assert.equal((await api(teal, "GET", "/v1/services/web")).status, 200);
        assert.equal(JSON.parse((await get(`${teal.proxyUrl}/`)).body).version, "v1");
      } finally {
        await stopAll(all);
      }
    });
  });
}

describe("takeover refused", () => {
  const dirs: Array<{ remove: () => Promise<void> }> = [];
  after(async () => {
    for (const d of dirs) await d.remove();
  });

  it("teal server --takeover without a running server: exit 3 and what to do", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir.path, "teal.yaml"), "");
    const r = await runCli([
      "server",
      "--takeover",
      "--data-dir",
      dir.path,
      "--config",
      join(dir.path, "teal.yaml"),
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /no running teal server to take over from on this data directory .*start one without --takeover \[SERVER_UNREACHABLE\]/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });

  it("during a deployment: refused with the service named; the deployment finishes, then a takeover goes through", async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const teal = await startTeal(processServiceConfig(), dir.path);
    const all = [teal.child.pid!];
    try {
      assert.equal((await finished(teal, await deploy(teal, "v1"))).outcome, "succeeded");
      // v2's instance listens after 20 s: its deployment is still running when the takeover asks.
      const seq = await deploy(teal, "v2", { APP_START_DELAY_MS: "20000" });
      const config = join(dir.path, "teal.yaml");
      const r = await runCli(["server", "--takeover", "--data-dir", dir.path, "--config", config]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /a deployment of web is running; a takeover does not interrupt one: retry when it has ended \(teal status\) \[CONFLICT\]/,
      );
      // The same teal serves on, and its deployment goes on to the end.
      assert.equal(JSON.parse(await readFile(join(dir.path, "server.json"), "utf8")).pid, teal.child.pid);
      const outcome = await eventually(
        async () => (await history(teal)).find((d) => d.seq === seq && d.outcome !== "running")?.outcome,
        `deployment #${seq} to end`,
        90_000,
      );
      assert.equal(outcome, "succeeded");
      assert.equal(JSON.parse((await get(`${teal.proxyUrl}/`)).body).version, "v2");
      // Refused, not broken: now a takeover goes through.
      const again = await runCli(["server", "--takeover", "--data-dir", dir.path, "--config", config]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^teal server pid \\d+ took over from pid ${teal.child.pid}`));
      all.push(...successors(teal));
      assert.equal(JSON.parse((await get(`${teal.proxyUrl}/`)).body).version, "v2");
    } finally {
      await stopAll(all);
    }
  });
});

/**
 * An upgrade: the teal running is the previous commit's (its sources, checked out with git
 * worktree), the one taking over is this checkout's, started by `teal server --takeover`.
 */
describe("upgrade from the previous commit", () => {
  const dirs: Array<{ remove: () => Promise<void> }> = [];
  let previous: string | undefined;
  after(async () => {
    if (previous !== undefined) await git(["worktree", "remove", "--force", previous]).catch(() => {});
    for (const d of dirs) await d.remove();
  });

  it("under keep-alive load, with 2 proxy workers: 0 failed requests, the new build serves", async (t) => {
    const checkout = await tempDir("teal-previous-");
    dirs.push(checkout);
    previous = join(checkout.path, "teal");
    await git(["worktree", "add", "--detach", previous, "HEAD~1"]);
    const main = join(previous, "src/cli/main.ts");
    const hasTakeover = await readFile(join(previous, "src/server/takeover.ts")).then(
      () => true,
      () => false,
    );
    if (!hasTakeover) {
      t.skip("the previous commit has no takeover to upgrade from");
      return;
    }
    await symlink(join(ROOT, "node_modules"), join(previous, "node_modules"));
    const dir = await tempDir();
    dirs.push(dir);
    const config = processServiceConfig().replace("workers: 1", "workers: 2");
    const teal = await startTeal(config, dir.path, { main });
    const all = [teal.child.pid!];
    try {
      assert.equal((await finished(teal, await deploy(teal, "v1"))).outcome, "succeeded");
      const instances = pids(await service(teal), "blue");
      const { traffic, result: r } = await underLoad(teal, () =>
        runCli(["server", "--takeover", "--config", join(dir.path, "teal.yaml"), "--data-dir", dir.path]),
      );
      assert.equal(r.code, 0, `${r.stderr}\n${logOf(teal)}`);
      assert.match(r.stdout, /^teal server pid \d+ took over from pid \d+/);
      const upgraded = successors(teal).at(-1)!;
      all.push(upgraded);
      assert.deepEqual({ errors: traffic.errors, non2xx: traffic.non2xx }, { errors: 0, non2xx: 0 });
      assert.ok(traffic.ok > 100, `${traffic.ok} requests`);
      // The new process runs this checkout's sources (compiled), not the previous commit's.
      const cmdline = (await readFile(`/proc/${upgraded}/cmdline`, "utf8")).split("\0");
      assert.ok(cmdline.includes(TEAL_MAIN), cmdline.join(" "));
      await eventually(() => !alive(teal.child.pid!), "the previous build's teal to exit", 30_000);
      assert.deepEqual(pids(await service(teal), "blue"), instances);
    } finally {
      await stopAll(all);
    }
  });
});

function git(args: string[]): Promise<unknown> {
  return promisify(execFile)("git", ["-C", ROOT, ...args]);
}
