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
import { alive, deploy, finished, pids, service, underLoad } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import {
  api,
  processServiceConfig,
  runCli,
  startTeal,
  type TealProcess,
  tempDir,
} from "../support/teal-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = import.meta.resolve("tsx");

/** The pids of the teal processes that took over so far, in order (from the shared log stream). */
const successors = (teal: TealProcess) =>
  teal.logs.filter((l) => l.msg === "took over the listening sockets").map((l) => l.pid as number);

const logOf = (teal: TealProcess) => teal.logs.map((l) => JSON.stringify(l)).join("\n");

/** Sends SIGHUP to the teal serving now and resolves with the pid of the one that takes over. */
async function hup(teal: TealProcess, current: number): Promise<number> {
  const before = successors(teal).length;
  process.kill(current, "SIGHUP");
  return eventually(
    () => successors(teal)[before],
    `a new teal to take over from pid ${current}`,
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}; its log:\n${logOf(teal)}`);
  });
}

async function stopAll(pidList: number[]): Promise<void> {
  for (const pid of pidList) if (alive(pid)) process.kill(pid, "SIGTERM");
  await eventually(() => pidList.every((p) => !alive(p)), "every teal process to exit", 30_000);
}

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
