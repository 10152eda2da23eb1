/** The Docker runtime against a real engine: launch, env and labels, logs, stop, crash, adopt, orphans, pull. */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isTealError } from "../../src/domain/errors.ts";
import type { ContainerSettings } from "../../src/runtime/docker/container-spec.ts";
import { DockerRuntime } from "../../src/runtime/docker/docker-runtime.ts";
import { DockerEngine } from "../../src/runtime/docker/engine-client.ts";
import type { InstanceHandle, LaunchSpec } from "../../src/runtime/runtime.ts";
import { APP_IMAGE, buildAppImage, type Dockerd, startDockerd } from "../support/docker.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { tempDir } from "../support/teal-process.ts";

const logMaxBytes = 1_000_000;
const settings: ContainerSettings = {
  containerPort: 3000,
  binds: [],
  network: null,
  labels: { team: "web" },
  memoryBytes: 64 * 1024 * 1024,
  cpus: 1,
  init: true,
  stopSignal: "SIGTERM",
  stopTimeoutMs: 5000,
};

let dockerd: Dockerd;
let engine: DockerEngine;
let dir: { path: string; remove: () => Promise<void> };

function runtime(owner = dir.path): DockerRuntime {
  return new DockerRuntime({ engine, logDir: join(dir.path, "logs"), owner, settings, pull: "missing" });
}

function spec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    service: "web",
    color: "blue",
    version: "v1",
    deploymentSeq: 3,
    index: 0,
    command: null,
    image: `${APP_IMAGE}:v1`,
    cwd: dir.path,
    env: { APP_MARK: "m1" },
    ...overrides,
  };
}

const untilServing = (h: InstanceHandle) =>
  eventually(async () => {
    const r = await get(`${h.record.url}/health`).catch(() => undefined);
    return r?.status === 200 && (JSON.parse(r.body) as Record<string, string>);
  }, "the container to answer");

const inspect = async (id: string) => JSON.parse(await dockerd.docker("inspect", id))[0];
const exists = async (id: string) =>
  dockerd.docker("inspect", id).then(
    () => true,
    () => false,
  );

describe("the docker runtime", () => {
  before(async () => {
    dockerd = await startDockerd();
    await buildAppImage(dockerd, ["v1"]);
    engine = new DockerEngine(dockerd.host);
    dir = await tempDir("teal-docker-");
  });
  after(async () => {
    await engine?.close();
    await dockerd?.stop();
    await dir?.remove();
  });

  it("starts a labelled container with teal's environment, publishes its port on 127.0.0.1 and copies its output to the log", async () => {
    const h = await runtime().launch(spec(), { logMaxBytes });
    try {
      assert.match(h.record.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await untilServing(h);
      assert.equal(answer.version, "v1");
      const c = await inspect(h.record.containerId!);
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(c.Config.Labels as Record<string, string>).filter(([k]) => k !== "teal.owner"),
        ),
        {
          team: "web",
          "teal.service": "web",
          "teal.color": "blue",
          "teal.version": "v1",
          "teal.deployment": "3",
          "teal.instance": "web-blue-3-0",
          "teal.index": "0",
        },
      );
      const env = c.Config.Env as string[];
      for (const e of [
        "PORT=3000",
        "TEAL_COLOR=blue",
        "TEAL_VERSION=v1",
        "DEPLOYMENT_COLOR=blue",
        "APP_MARK=m1",
      ])
        assert.ok(env.includes(e), `${e} in ${env}`);
      assert.equal(c.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(c.HostConfig.NanoCpus, 1e9);
      assert.equal(c.HostConfig.PortBindings["3000/tcp"][0].HostIp, "127.0.0.1");
      const log = await eventually(async () => {
        const text = await readFile(h.record.logPath, "utf8").catch(() => "");
        return text.includes("fixture app v1 (blue) starting on port 3000") && text;
      }, "the container's output in its log file");
      assert.match(
        log,
        /^--- teal .*: starting web v1 on blue \(deployment 3, instance 0, container [0-9a-f]{12} from teal-test-app:v1, port \d+\) ---\n/,
      );
    } finally {
      await h.stop("SIGTERM", 5000);
    }
  });

  it("stops gracefully with the stop signal, then removes the container", async () => {
    const h = await runtime().launch(spec(), { logMaxBytes });
    await untilServing(h);
    const { forced, exit } = await h.stop("SIGTERM", 5000);
    assert.equal(forced, false);
    assert.equal(exit.code, 0);
    assert.equal(h.alive(), false);
    assert.equal(await exists(h.record.containerId!), false, "the container is removed");
  });

  it("kills a container that ignores the stop signal once the grace period is over", async () => {
    const ignoring = [
      "/usr/bin/node",
      "-e",
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1e6); console.log('up')",
    ];
    const h = await runtime().launch(spec({ command: ignoring }), { logMaxBytes });
    await eventually(
      async () => (await readFile(h.record.logPath, "utf8")).includes("up"),
      "the command to run",
    );
    const started = Date.now();
    const { forced, exit } = await h.stop("SIGTERM", 500);
    assert.equal(forced, true);
    assert.ok(Date.now() - started >= 450, "the grace period was given");
    assert.equal(exit.signal, "SIGKILL");
    assert.equal(await exists(h.record.containerId!), false);
  });

  it("reports a crash as an exit with the app's code and keeps its last output", async () => {
    const h = await runtime().launch(spec({ index: 1 }), { logMaxBytes });
    await untilServing(h);
    await fetch(`${h.record.url}/crash`, { method: "POST" }).catch(() => {});
    const exit = await h.exited;
    assert.equal(exit.code, 1);
    await eventually(async () => !(await exists(h.record.containerId!)), "the dead container to be removed");
    assert.match(await readFile(h.record.logPath, "utf8"), /fixture app: crashing as asked/);
  });

  it("re-adopts a running container by its record and resumes copying its output; a gone one is not adopted", async () => {
    const first = runtime();
    const h = await first.launch(spec({ index: 2 }), { logMaxBytes });
    await untilServing(h);
    // A second runtime, as after a restart of teal.
    const adopted = await runtime().adopt(h.record, { logMaxBytes });
    assert.ok(adopted, "adopted");
    assert.equal(adopted.alive(), true);
    await dockerd.docker("kill", h.record.containerId!);
    assert.equal((await adopted.exited).signal, "SIGKILL");
    await eventually(async () => !(await exists(h.record.containerId!)), "the dead container to be removed");
    assert.equal(await runtime().adopt(h.record, { logMaxBytes }), undefined);
    assert.equal(await runtime("/some/other/teal").adopt(h.record, { logMaxBytes }), undefined);
  });

  it("removes containers of its own that no record knows, and leaves another teal's alone", async () => {
    const mine = runtime();
    const known = await mine.launch(spec({ index: 3 }), { logMaxBytes });
    const orphan = await mine.launch(spec({ index: 4 }), { logMaxBytes });
    const other = await runtime("/other/teal").launch(spec({ index: 5 }), { logMaxBytes });
    try {
      const removed = await mine.removeOrphans("web", new Set([known.record.containerId!]));
      assert.equal(removed.length, 1);
      assert.match(removed[0]!, /web-blue-3-4/);
      assert.equal(await exists(orphan.record.containerId!), false);
      assert.equal(await exists(known.record.containerId!), true);
      assert.equal(await exists(other.record.containerId!), true);
    } finally {
      await Promise.all([known, orphan, other].map((h) => h.stop("SIGTERM", 5000)));
    }
  });

  it("fails to prepare an image that cannot be pulled with the engine's message, and one that is present at once", async () => {
    const lines: string[] = [];
    await runtime().prepare({ service: "web", version: "v1", image: `${APP_IMAGE}:v1` }, (l) =>
      lines.push(l),
    );
    assert.equal(lines.length, 0, "a present image is not pulled");
    await assert.rejects(
      runtime().prepare({ service: "web", version: "v9", image: "teal-no-such-image:v9" }, (l) =>
        lines.push(l),
      ),
      (err) =>
        isTealError(err, "LAUNCH_FAILED") && /^cannot pull image teal-no-such-image:v9: .+/.test(err.message),
    );
    assert.match(lines[0]!, /pulling image teal-no-such-image:v9/);
    const never = new DockerRuntime({ engine, logDir: dir.path, owner: dir.path, settings, pull: "never" });
    await assert.rejects(
      never.prepare({ service: "web", version: "v9", image: "teal-no-such-image:v9" }, () => {}),
      /image teal-no-such-image:v9 is not on the Docker engine at unix:.* and runtime.pull is "never"/,
    );
  });

  it("names the engine address when it cannot be reached", async () => {
    const gone = new DockerEngine("unix:///tmp/teal-no-such-docker.sock");
    const rt = new DockerRuntime({
      engine: gone,
      logDir: dir.path,
      owner: dir.path,
      settings,
      pull: "missing",
    });
    await assert.rejects(
      rt.prepare({ service: "web", version: "v1", image: "x:1" }, () => {}),
      /cannot reach the Docker engine at unix:\/\/\/tmp\/teal-no-such-docker.sock \(ENOENT\); start dockerd, or set runtime.host or DOCKER_HOST/,
    );
    await gone.close();
  });
});
