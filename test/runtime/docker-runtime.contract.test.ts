/** Runs the runtime contract against the Docker runtime: a private dockerd and the fixture app's image. */

import { join } from "node:path";
import type { ContainerSettings } from "../../src/runtime/docker/container-spec.ts";
import { DockerRuntime } from "../../src/runtime/docker/docker-runtime.ts";
import { DockerEngine } from "../../src/runtime/docker/engine-client.ts";
import type { LaunchSpec } from "../../src/runtime/runtime.ts";
import { runRuntimeContract } from "../contracts/runtime.cases.ts";
import { APP_IMAGE, buildAppImage, startDockerd } from "../support/docker.ts";
import { tempDir } from "../support/teal-process.ts";

const settings: ContainerSettings = {
  containerPort: 3000,
  binds: [],
  network: null,
  labels: {},
  memoryBytes: 64 * 1024 * 1024,
  cpus: 1,
  init: true,
  stopSignal: "SIGTERM",
  stopTimeoutMs: 10_000,
};

runRuntimeContract("docker", async () => {
  const dockerd = await startDockerd();
  const engine = new DockerEngine(dockerd.host);
  const dir = await tempDir("teal-docker-contract-");
  await buildAppImage(dockerd, ["v1"]);
  const spec = (index: number, command: readonly string[] | null): LaunchSpec => ({
    service: "web",
    color: "blue",
    version: "v1",
    deploymentSeq: 3,
    index,
    command,
    image: `${APP_IMAGE}:v1`,
    cwd: dir.path,
    env: {},
  });
  return {
    harness: {
      // The same owner (teal's data directory) each time: a new runtime is teal after a restart.
      runtime: () =>
        new DockerRuntime({
          engine,
          logDir: join(dir.path, "logs"),
          owner: dir.path,
          settings,
          pull: "never",
        }),
      app: (index) => spec(index, null),
      // The image has no shell: node is called directly.
      node: (index, source) => spec(index, ["/usr/bin/node", "-e", source]),
    },
    tearDown: async () => {
      await engine.close();
      await dockerd.stop();
      await dir.remove();
    },
  };
});
