/**
 * Deployments of a docker service end to end: a real dockerd, the real `teal server` and CLI, the
 * fixture app as an image. Deploy, a switch under load, failed health, rollback, crash, adoption.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startBackend } from "../support/backends.ts";
import { finished, history, served, service, underLoad } from "../support/deployments.ts";
import { APP_IMAGE, buildAppImage, type Dockerd, startDockerd } from "../support/docker.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { startRegistry } from "../support/registry.ts";
import { api, type Json, runCli, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

let dockerd: Dockerd;

function dockerConfig(extra = ""): string {
  return `
proxy:
  listen: 127.0.0.1:0
  workers: 1
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    runtime:
      type: docker
      host: ${dockerd.host}
      image: "${APP_IMAGE}:{version}"
      port: 3000
      labels: { team: web }
      stopTimeoutMs: 2000
    health: { intervalMs: 50, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 2, versionField: version }
    deployment: { timeoutMs: 5000, scaleDownDelayMs: 60000 }
${extra}`;
}

const cli = (teal: TealProcess, ...args: string[]) => runCli([...args, "--data-dir", teal.dataDir]);
const containers = async (teal: TealProcess, color: string) =>
  ((await service(teal)).colors[color].instances as Json[]).map((i) => i.containerId as string);
/** Ids of the running containers this teal owns, per the engine. */
const running = async () =>
  (await dockerd.docker("ps", "-q", "--no-trunc", "--filter", "label=teal.service=web"))
    .split("\n")
    .filter(Boolean);

async function withTeal(fn: (teal: TealProcess, restart: () => Promise<TealProcess>) => Promise<void>) {
  const dir = await tempDir();
  let teal = await startTeal(dockerConfig(), dir.path);
  try {
    await fn(teal, async () => {
      await teal.kill9();
      teal = await startTeal(dockerConfig(), dir.path);
      return teal;
    });
  } finally {
    await teal.stop();
    await dir.remove();
  }
}

describe("deployments of a docker service", () => {
  before(async () => {
    dockerd = await startDockerd();
    await buildAppImage(dockerd, ["v1", "v2", "v3"]);
  });
  after(async () => {
    await dockerd?.stop();
  });

  it("deploys an image, switches to the next one under load with 0 failed requests, and rolls back at once", async () => {
    await withTeal(async (teal) => {
      const first = await cli(teal, "deploy", "web", "--image", `${APP_IMAGE}:v1`);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /started web-blue-1-0 \(container [0-9a-f]{12}, port \d+\)/);
      assert.match(first.stdout, /web v1 is live on blue/, "the tag is the version");
      const healthyAt = first.stdout.split("\n").find((l) => l.includes("all instances healthy"));
      process.stderr.write(`# first deploy of a container, healthy at: ${healthyAt?.trim()}\n`);
      assert.equal((await served(teal)).version, "v1");
      const blue = await containers(teal, "blue");

      const { result, traffic } = await underLoad(teal, () => cli(teal, "deploy", "web", "--version", "v2"));
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(traffic.errors + traffic.non2xx, 0, "no failed request during the switch");
      assert.ok(traffic.ok > 100, `load ran (${traffic.ok} requests)`);
      assert.equal((await served(teal)).version, "v2");
      const s = await service(teal);
      assert.equal(s.colors.green.image, `${APP_IMAGE}:v2`);
      assert.deepEqual(await containers(teal, "blue"), blue, "v1 stays warm in the same container");

      const logs = await cli(teal, "logs", "web", "--color", "green");
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /fixture app v2 \(green\) starting on port 3000/);

      const back = await cli(teal, "rollback", "web");
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(back.stdout, /still warm on blue: switching back now/);
      assert.equal((await served(teal)).version, "v1");
      assert.deepEqual(await containers(teal, "blue"), blue, "the rollback reused the warm container");
    });
  });

  it("pulls a missing image from a registry, with progress, before it touches anything", async () => {
    const dir = await tempDir();
    const registry = await startRegistry(dir.path);
    const image = `${registry.address}/team/app:v7`;
    try {
      await dockerd.docker("tag", `${APP_IMAGE}:v1`, image);
      await dockerd.docker("push", image);
      await dockerd.docker("rmi", image);
      await withTeal(async (teal) => {
        const r = await cli(teal, "deploy", "web", "--image", image);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`pulling image ${image} \\(not on the engine yet\\)`));
        // The engine's own progress, relayed (the layers are shared with the local test image,
        // so there is no download to show per layer here).
        assert.match(r.stdout, /pulling .*: v7: Pulling from team\/app/);
        assert.match(r.stdout, /pulling .*: Status: Downloaded newer image/);
        assert.match(r.stdout, new RegExp(`pulled image ${image}`));
        assert.match(r.stdout, /web v7 is live on blue/);
        assert.equal((await served(teal)).version, "v7");
      });
    } finally {
      await dockerd.docker("rmi", "-f", image).catch(() => "");
      await registry.stop();
      await dir.remove();
    }
  });

  it("stops and removes the old color's container once the scale-down delay has passed", async () => {
    const dir = await tempDir();
    const teal = await startTeal(
      dockerConfig().replace("scaleDownDelayMs: 60000", "scaleDownDelayMs: 300"),
      dir.path,
    );
    try {
      assert.equal((await cli(teal, "deploy", "web", "--version", "v1")).code, 0);
      const [old] = await containers(teal, "blue");
      assert.equal((await cli(teal, "deploy", "web", "--version", "v2")).code, 0);
      await eventually(
        async () => !(await dockerd.docker("ps", "-aq", "--no-trunc")).includes(old!),
        "the old container to be stopped and removed",
      );
      assert.deepEqual(await containers(teal, "blue"), []);
      assert.equal((await served(teal)).version, "v2");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("a new version that never gets healthy leaves traffic on the old one and shows the container's output", async () => {
    await withTeal(async (teal) => {
      assert.equal((await cli(teal, "deploy", "web", "--version", "v1")).code, 0);
      const before = await running();
      const failed = await cli(teal, "deploy", "web", "--version", "v2", "--env", "APP_HEALTH=fail");
      assert.equal(failed.code, 1, failed.stdout);
      assert.match(failed.stdout, /green did not become healthy within 5000 ms/);
      assert.match(
        failed.stdout,
        /last output of web-green-2-0:\n.*\| fixture app v2 \(green\) starting on port 3000/,
      );
      assert.equal((await served(teal)).version, "v1");
      await eventually(
        async () => (await running()).join() === before.join(),
        "the failed container to be removed",
      );

      // A version that exits at start fails at once with its exit code and its last output.
      const exits = await cli(teal, "deploy", "web", "--version", "v3", "--env", "APP_EXIT=3");
      assert.equal(exits.code, 1, exits.stdout);
      assert.match(exits.stdout, /exited with code 3/);
      assert.match(exits.stdout, /\| fixture app: exiting with code 3 as asked/);
      assert.equal((await served(teal)).version, "v1");
      await eventually(
        async () => (await running()).join() === before.join(),
        "the exited container to be removed",
      );

      // An image that cannot be pulled fails before anything is touched.
      const unknown = await cli(teal, "deploy", "web", "--image", "teal-no-such-image:v9");
      assert.equal(unknown.code, 1, unknown.stdout);
      assert.match(
        unknown.stdout,
        /cannot pull image teal-no-such-image:v9: \S.*nothing was changed: live traffic stays on blue v1/s,
      );
      const d = (await history(teal))[0]!;
      assert.equal(d.version, "v9");
      assert.equal(
        d.events.some((e: Json) => e.type === "instance" || e.type === "scale_down"),
        false,
      );
      assert.deepEqual(await running(), before, "no container was created or stopped");
      assert.equal((await served(teal)).version, "v1");
    });
  });

  it("restarts a container that crashes and reports it", async () => {
    await withTeal(async (teal) => {
      const seq = (await api(teal, "POST", "/v1/services/web/deployments", { version: "v1" })).body.deployment
        .seq;
      await finished(teal, seq);
      const [old] = await containers(teal, "blue");
      await fetch(`${teal.proxyUrl}/crash`, { method: "POST" }).catch(() => {});
      const member = await eventually(async () => {
        const m = (await service(teal)).colors.blue.instances[0] as Json;
        return m.restarts === 1 && m.alive && m.containerId !== old && m;
      }, "the crashed container to be replaced");
      assert.ok(member.containerId);
      await eventually(
        async () => (await served(teal).catch(() => undefined))?.version === "v1",
        "the replacement to serve v1",
      );
      const events = (await history(teal))[0]!.events as Json[];
      assert.ok(
        events.some((e) => e.type === "crash" && /exited with code 1/.test(e.message)),
        JSON.stringify(events),
      );
      assert.deepEqual(await running(), [member.containerId]);
    });
  });

  it("starts without the engine, serving its other services, and adopts the containers once it is back", async () => {
    const api = await startBackend("api");
    const dir = await tempDir();
    const withApi = (config: string) =>
      `${config}  api:\n    routes: [{ host: api.test }]\n    blue: [${api.url}]\n    green: [${api.url}]\n`;
    const config = withApi(dockerConfig());
    let teal = await startTeal(config, dir.path);
    try {
      assert.equal((await cli(teal, "deploy", "web", "--version", "v1")).code, 0);
      const before = await containers(teal, "blue");
      await teal.kill9();

      // The engine is unreachable (another socket): teal starts, and api is served.
      teal = await startTeal(config.replace(dockerd.host, "unix:///tmp/teal-no-engine.sock"), dir.path);
      assert.equal((await get(`${teal.proxyUrl}/`, { host: "api.test" })).status, 200);
      await teal.kill9();

      // With the engine back, the same container is adopted and serves again.
      teal = await startTeal(config, dir.path);
      assert.deepEqual(await containers(teal, "blue"), before);
      assert.equal((await served(teal)).version, "v1");
    } finally {
      await teal.stop();
      await dir.remove();
      await api.close();
    }
  });

  it("after kill -9 of teal, the restart re-adopts the same containers and removes orphans", async () => {
    await withTeal(async (teal, restart) => {
      assert.equal((await cli(teal, "deploy", "web", "--version", "v1")).code, 0);
      assert.equal((await cli(teal, "deploy", "web", "--version", "v2")).code, 0);
      const blue = await containers(teal, "blue");
      const green = await containers(teal, "green");
      // What a crash between creating a container and recording it leaves behind.
      const orphan = await dockerd.docker(
        "run",
        "-d",
        "--label",
        `teal.owner=${teal.dataDir}`,
        "--label",
        "teal.service=web",
        "-e",
        "PORT=3000",
        "-e",
        "TEAL_VERSION=v3",
        `${APP_IMAGE}:v3`,
      );
      const started = Date.now();
      teal = await restart();
      const adoptedMs = Date.now() - started;
      assert.equal((await served(teal)).version, "v2");
      assert.deepEqual(await containers(teal, "green"), green);
      assert.deepEqual(await containers(teal, "blue"), blue);
      assert.equal((await running()).includes(orphan), false, "the orphan was removed");
      assert.ok(teal.logs.some((l) => /removed a container no record knew of/.test(String(l.msg))));
      process.stderr.write(`# teal restart with 2 adopted containers took ${adoptedMs} ms\n`);

      // Adopted containers are followed: a crash is still seen and replaced.
      await fetch(`${teal.proxyUrl}/crash`, { method: "POST" }).catch(() => {});
      await eventually(
        async () => (await service(teal)).colors.green.instances[0].restarts === 1,
        "the adopted container's crash to be restarted",
      );
    });
  });
});
