/** The Docker runtime against a real engine: launch, env and labels, logs, stop, crash, adopt, orphans, pull. */

import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.ts";
import { systemClock } from "../../src/domain/clock.ts";
import { isTealError } from "../../src/domain/errors.ts";
import { ContainerInstance, OOM_KILLED } from "../../src/runtime/docker/container-instance.ts";
import { type ContainerSettings, containerCreateBody } from "../../src/runtime/docker/container-spec.ts";
import { DockerRuntime } from "../../src/runtime/docker/docker-runtime.ts";
import {
  DockerEngine,
  FALLBACK_API_VERSION,
  MAX_API_VERSION,
  negotiatedApiVersion,
} from "../../src/runtime/docker/engine-client.ts";
import { pullPath } from "../../src/runtime/docker/image-pull.ts";
import { dockerRuntimes } from "../../src/runtime/docker/service-runtimes.ts";
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
      // What an app prints can hold secrets: private to teal's user.
      assert.equal((await stat(h.record.logPath)).mode & 0o777, 0o600);
      assert.equal((await stat(dirname(h.record.logPath))).mode & 0o777, 0o700);
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

  it("keeps the last output and exit code of a container that died while teal was down, then removes it", async () => {
    // A container of this teal's, as a previous teal process left it: it says something and dies.
    const id = (
      await dockerd.docker(
        "run",
        "-d",
        "--label",
        `teal.owner=${dir.path}`,
        "--label",
        "teal.service=web",
        `${APP_IMAGE}:v1`,
        "/usr/bin/node",
        "-e",
        "console.log('lost the database'); process.exit(4)",
      )
    ).trim();
    await dockerd.docker("wait", id);
    const logPath = join(dir.path, "logs", "web", "blue-9.log");
    await mkdir(dirname(logPath), { recursive: true });
    await writeFile(logPath, "--- teal: starting web v1 ---\n");
    await utimes(logPath, new Date(0), new Date(0)); // written long before the container ran
    const record = {
      id: "web-blue-3-9",
      index: 9,
      pid: 1,
      pidStartTime: null,
      port: 1,
      url: "http://127.0.0.1:1",
      logPath,
      startedAt: new Date(0).toISOString(),
      containerId: id,
    };
    assert.equal(await runtime().adopt(record, { logMaxBytes }), undefined, "not adopted: it is gone");
    const log = await readFile(logPath, "utf8");
    assert.match(log, /lost the database/);
    assert.match(log, /container web-blue-3-9 exited with code 4 while teal was not running/);
    assert.equal(await exists(id), false, "removed");
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

  it("speaks the API version the engine offers (20.10: 1.41)", async () => {
    const offered = await dockerd.docker("version", "--format", "{{.Server.APIVersion}}");
    assert.equal(await engine.apiVersion(), negotiatedApiVersion(offered));
    assert.equal(await engine.apiVersion(), "1.41");
  });

  it("fails the launch of a container that exits at once with its exit code, and keeps its output in the log", async () => {
    const quitter = [
      "/usr/bin/node",
      "-e",
      // One stream: the engine keeps stdout and stderr apart, so lines across them may swap order.
      "console.error('reading config'); console.error('fatal: no DATABASE_URL'); process.exit(3)",
    ];
    // Whether the engine has seen the exit by the time teal inspects the new container is a race:
    // this engine makes sure it has, by waiting for the container to stop before answering.
    class Slow extends DockerEngine {
      override async json<T>(method: string, path: string, what: string, body?: unknown) {
        const inspected = /^\/containers\/([0-9a-f]+)\/json$/.exec(path);
        if (method === "GET" && inspected) await dockerd.docker("wait", inspected[1]!);
        return super.json<T>(method, path, what, body);
      }
    }
    const slow = new Slow(dockerd.host);
    const rt = new DockerRuntime({
      engine: slow,
      logDir: join(dir.path, "logs"),
      owner: dir.path,
      settings,
      pull: "missing",
    });
    await assert.rejects(rt.launch(spec({ index: 6, command: quitter }), { logMaxBytes }), (err) => {
      assert.ok(isTealError(err, "LAUNCH_FAILED"), String(err));
      assert.match(err.message, /container web-blue-3-6 exited with code 3 right after it started/);
      assert.match(err.message, /its last output: fatal: no DATABASE_URL/);
      const logs = err.details?.logs as { id: string; lines: string[] }[];
      assert.deepEqual(logs, [{ id: "web-blue-3-6", lines: ["reading config", "fatal: no DATABASE_URL"] }]);
      assert.equal(err.details?.exitCode, 3);
      return true;
    });
    const log = await readFile(join(dir.path, "logs", "web", "blue-6.log"), "utf8");
    assert.match(
      log,
      /--- teal .*: starting web v1 on blue \(deployment 3, instance 6, .*\) ---\nreading config\nfatal: no DATABASE_URL\n$/,
    );
    const left = await dockerd.docker("ps", "-aq", "--filter", "label=teal.instance=web-blue-3-6");
    assert.equal(left, "", "the container is removed");
    await slow.close();
  });

  it("resolves exited only once the container's last output is in the log file", async () => {
    const lastWords = [
      "/usr/bin/node",
      "-e",
      "process.on('SIGTERM', () => { for (let i = 0; i < 200; i++) console.log('last words ' + i); process.exit(5) }); setInterval(() => {}, 1e6); console.log('up')",
    ];
    const h = await runtime().launch(spec({ index: 7, command: lastWords }), { logMaxBytes });
    await eventually(
      async () => (await readFile(h.record.logPath, "utf8")).includes("up"),
      "the command to run",
    );
    await dockerd.docker("kill", "--signal", "TERM", h.record.containerId!);
    const exit = await h.exited;
    assert.equal(exit.code, 5);
    assert.match(await readFile(h.record.logPath, "utf8"), /last words 199\n$/);
    await h.stop("SIGTERM", 5000);
  });

  it("reports a container killed for going over its memory limit as out of memory", async () => {
    const hog = [
      "/usr/bin/node",
      "-e",
      "console.log('up'); process.on('SIGTERM', () => { const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1)); }); setInterval(() => {}, 1e6)",
    ];
    const h = await runtime().launch(spec({ index: 8, command: hog }), { logMaxBytes });
    await eventually(
      async () => (await readFile(h.record.logPath, "utf8")).includes("up"),
      "the command to run",
    );
    await dockerd.docker("kill", "--signal", "TERM", h.record.containerId!);
    const exit = await h.exited;
    assert.deepEqual(exit, { code: 137, signal: OOM_KILLED });
    assert.match(OOM_KILLED, /killed: out of memory.*resources\.memory/);
  });

  it("mounts its volumes and joins its user network, where it answers as <service>-<color> only", async () => {
    const host = join(dir.path, "shared");
    await mkdir(host, { recursive: true });
    await writeFile(join(host, "greeting"), "hello from the host");
    const network = `teal-test-${Date.now().toString(36)}`;
    await dockerd.docker("network", "create", network);
    const rt = new DockerRuntime({
      engine,
      logDir: join(dir.path, "logs"),
      owner: dir.path,
      settings: { ...settings, binds: [`${host}:/data:ro`], network },
      pull: "missing",
    });
    const h = await rt.launch(spec({ index: 7 }), { logMaxBytes });
    try {
      await untilServing(h);
      // From inside the network (the image has node and no shell): the mount, then the names.
      const inside = (script: string) =>
        dockerd.docker("exec", h.record.containerId!, "/usr/bin/node", "-e", script);
      assert.equal(
        await inside("process.stdout.write(require('fs').readFileSync('/data/greeting', 'utf8'))"),
        "hello from the host",
      );
      const answer = JSON.parse(
        await inside(
          "fetch('http://web-blue:3000/health').then(r => r.text()).then(t => process.stdout.write(t))",
        ),
      );
      assert.equal(answer.version, "v1");
      assert.match(
        await inside(
          "fetch('http://web:3000/health').then(() => console.log('reached'), e => console.log(e.cause?.code ?? e.message))",
        ),
        /ENOTFOUND|EAI_AGAIN/,
      );
    } finally {
      await h.stop("SIGTERM", 5000);
      await dockerd.docker("network", "rm", network).catch(() => "");
    }
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

/** A stand-in engine on a unix socket: answers through `handle`, and records every request's method and path. */
async function fakeEngine(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ engine: DockerEngine; requests: string[]; close: () => Promise<void> }> {
  const d = await tempDir("teal-fake-engine-");
  const socketPath = join(d.path, "e.sock");
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  server.listen(socketPath);
  await once(server, "listening");
  const engine = new DockerEngine(`unix://${socketPath}`);
  return {
    engine,
    requests,
    async close() {
      await engine.close();
      server.closeAllConnections();
      server.close();
      await d.remove();
    },
  };
}

const fakeRecord = () => ({
  id: "web-blue-1-0",
  index: 0,
  pid: 1,
  pidStartTime: null,
  port: 1,
  url: "http://127.0.0.1:1",
  logPath: "/tmp/teal-fake-engine-never-written.log",
  startedAt: new Date().toISOString(),
  containerId: "c0ffee",
});

describe("the docker runtime's engine client and requests", () => {
  it("negotiates the API version: the engine's, capped at the newest teal knows, 1.41 when it does not say", () => {
    assert.equal(MAX_API_VERSION, "1.47");
    assert.equal(negotiatedApiVersion("1.52"), "1.47", "Docker 29 refuses below 1.44");
    assert.equal(negotiatedApiVersion("1.44"), "1.44");
    assert.equal(negotiatedApiVersion("1.41"), "1.41");
    assert.equal(negotiatedApiVersion("2.3"), "1.47");
    assert.equal(negotiatedApiVersion(undefined), FALLBACK_API_VERSION);
    assert.equal(negotiatedApiVersion("garbage"), "1.41");
  });

  it("asks /_ping once, then sends every request under the negotiated version", async () => {
    const fake = await fakeEngine((req, res) => {
      if (req.url === "/_ping") res.setHeader("Api-Version", "1.52");
      res.setHeader("content-type", "application/json");
      res.end(req.url === "/_ping" ? "OK" : "{}");
    });
    try {
      await Promise.all([
        fake.engine.json("GET", "/containers/x/json", "inspecting x"),
        fake.engine.json("GET", "/containers/y/json", "inspecting y"),
      ]);
      assert.equal(await fake.engine.apiVersion(), "1.47");
      assert.deepEqual(fake.requests.sort(), [
        "GET /_ping",
        "GET /v1.47/containers/x/json",
        "GET /v1.47/containers/y/json",
      ]);
    } finally {
      await fake.close();
    }
  });

  it("falls back to 1.41 when the ping answer has no Api-Version header", async () => {
    const fake = await fakeEngine((_req, res) => res.end("{}"));
    try {
      await fake.engine.json("GET", "/info", "info");
      assert.deepEqual(fake.requests, ["GET /_ping", "GET /v1.41/info"]);
    } finally {
      await fake.close();
    }
  });

  it("pulls only the latest tag of an untagged reference; a registry port is not a tag", () => {
    const q = (image: string) => pullPath(image).replace("/images/create?", "");
    assert.equal(q("myapp"), "fromImage=myapp&tag=latest");
    assert.equal(q("registry:5000/app"), `fromImage=${encodeURIComponent("registry:5000/app")}&tag=latest`);
    assert.equal(
      q("registry:5000/team/app:v2"),
      `fromImage=${encodeURIComponent("registry:5000/team/app:v2")}`,
    );
    assert.equal(q("app:v1"), "fromImage=app%3Av1");
    assert.equal(
      q(`app@sha256:${"a".repeat(64)}`),
      `fromImage=${encodeURIComponent(`app@sha256:${"a".repeat(64)}`)}`,
    );
    assert.equal(
      q(`registry:5000/app@sha256:${"b".repeat(64)}`),
      `fromImage=${encodeURIComponent(`registry:5000/app@sha256:${"b".repeat(64)}`)}`,
    );
  });

  it("gives a container on a user network only its color's alias, never the bare service name", () => {
    const body = containerCreateBody(
      {
        service: "web",
        color: "green",
        version: "v2",
        deploymentSeq: 4,
        index: 0,
        command: null,
        image: "app:v2",
        cwd: "/",
        env: {},
      },
      { ...settings, network: "backend" },
      "/owner",
    ) as {
      NetworkingConfig: { EndpointsConfig: Record<string, { Aliases: string[] }> };
      HostConfig: { NetworkMode: string };
    };
    assert.equal(body.HostConfig.NetworkMode, "backend");
    assert.deepEqual(body.NetworkingConfig.EndpointsConfig, { backend: { Aliases: ["web-green"] } });
  });

  it("refuses a DOCKER_HOST or runtime.host it cannot speak to with CONFIG_INVALID naming it and the fix", () => {
    const config = (host = "") =>
      parseConfigText(`
services:
  api:
    routes: [{ path: / }]
    runtime: { type: docker, image: "app:{version}", port: 3000${host} }
`);
    const options = { logDir: "/tmp/logs", owner: "/tmp/owner", configDir: "/tmp" };
    for (const bad of ["ssh://me@box", "npipe:////./pipe/docker_engine", "fd://", "tcp://box"]) {
      assert.throws(
        () => dockerRuntimes(config(), { ...options, env: { DOCKER_HOST: bad } }),
        (err) =>
          isTealError(err, "CONFIG_INVALID") &&
          err.message.includes(`DOCKER_HOST`) &&
          err.message.includes(bad) &&
          /unix:\/\/\/.*tcp:\/\/HOST:PORT.*not supported yet/.test(err.message),
        bad,
      );
    }
    // runtime.host wins over DOCKER_HOST; a good DOCKER_HOST or the default are fine.
    const fine = dockerRuntimes(config(", host: tcp://127.0.0.1:2375"), {
      ...options,
      env: { DOCKER_HOST: "ssh://x" },
    });
    assert.equal(fine.runtimes.get("api")?.engine.host, "tcp://127.0.0.1:2375");
    void fine.close();
    const byDefault = dockerRuntimes(config(), { ...options, env: {} });
    assert.equal(byDefault.runtimes.get("api")?.engine.host, "unix:///var/run/docker.sock");
    void byDefault.close();
    // A config that bypassed the schema still gets the message naming the setting.
    const raw = config();
    const rt = raw.services.api!.runtime as { host?: string };
    rt.host = "ssh://me@box";
    assert.throws(
      () => dockerRuntimes(raw, { ...options, env: {} }),
      (err) => isTealError(err, "CONFIG_INVALID") && err.message.startsWith("services.api.runtime.host is"),
    );
    assert.throws(
      () => new DockerEngine("ssh://me@box"),
      (err) => isTealError(err, "CONFIG_INVALID"),
    );
  });

  it("resolves exited only after the output copy ended, giving a stuck copy at most ~2 s", async () => {
    const fake = await fakeEngine((req, res) => {
      if (req.url?.includes("/wait")) return res.end(JSON.stringify({ StatusCode: 3 }));
      res.end("OK");
    });
    try {
      let copyEnded = false;
      let endCopy = () => {};
      const logsCopied = new Promise<void>((resolve) => {
        endCopy = () => {
          copyEnded = true;
          resolve();
        };
      });
      const started = Date.now();
      const h = new ContainerInstance({
        record: fakeRecord(),
        engine: fake.engine,
        clock: systemClock,
        logMaxBytes: 1_000_000,
        logsCopied,
        stopCopying: endCopy,
        remove: async () => {},
      });
      const exit = await h.exited;
      assert.equal(exit.code, 3);
      assert.equal(copyEnded, true, "the copy was given up on before exited resolved");
      const waited = Date.now() - started;
      assert.ok(waited >= 1900 && waited < 5000, `waited ${waited} ms`);
    } finally {
      await fake.close();
    }
  });

  it("a failed stop is not remembered: the next stop tries again", async () => {
    let kills = 0;
    let waiting: ServerResponse | undefined;
    const fake = await fakeEngine((req, res) => {
      const url = req.url ?? "";
      if (url === "/_ping") return res.end("OK");
      if (url.includes("/wait")) {
        waiting = res;
        res.writeHead(200, { "content-type": "application/json" });
        res.flushHeaders();
        return;
      }
      if (url.includes("/kill")) {
        kills++;
        if (kills === 1) {
          res.writeHead(500, { "content-type": "application/json" });
          return res.end(JSON.stringify({ message: "engine hiccup" }));
        }
        res.writeHead(204).end();
        waiting?.end(JSON.stringify({ StatusCode: 143 }));
        return;
      }
      res.writeHead(204).end();
    });
    try {
      const h = new ContainerInstance({
        record: fakeRecord(),
        engine: fake.engine,
        clock: systemClock,
        logMaxBytes: 1_000_000,
        logsCopied: Promise.resolve(),
        stopCopying: () => {},
        remove: async () => {},
      });
      await assert.rejects(h.stop("SIGTERM", 5000), /engine hiccup/);
      const { forced, exit } = await h.stop("SIGTERM", 5000);
      assert.equal(kills, 2, "the second stop sent the signal again");
      assert.equal(forced, false);
      assert.deepEqual(exit, { code: 143, signal: "SIGTERM" });
    } finally {
      await fake.close();
    }
  });
});
